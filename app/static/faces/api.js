// The API client both faces use: bearer tokens kept per face, the refresh
// token spent once when the access token expires, errors as ApiError with the
// envelope's code, message (Chinese) and details.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `请求失败（${status}）`);
    this.status = status;
    this.code = error?.code || "http_" + status;
    this.details = error?.details || {};
  }
}

export function createApi({storageKey, base = "/api/v1", onLoggedOut = () => {}}) {
  const store = {
    get: () => JSON.parse(localStorage.getItem(storageKey) || "null"),
    set: (session) => localStorage.setItem(storageKey, JSON.stringify(session)),
    clear: () => localStorage.removeItem(storageKey),
  };
  let refreshing = null;
  let profile = null;  // GET /me, until a login or logout changes who this is

  async function refresh() {
    const session = store.get();
    if (!session?.refresh_token) return false;
    refreshing ??= fetch(base + "/auth/refresh", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({refresh_token: session.refresh_token}),
    }).then(async (res) => {
      if (!res.ok) return false;
      store.set(await res.json());
      return true;
    }).finally(() => { refreshing = null; });
    return refreshing;
  }

  async function send(method, path, {json, form, raw = false, retry = true, headers = {}} = {}) {
    const session = store.get();
    const init = {method, headers: {"Accept-Language": "zh-CN", ...headers}};
    if (session?.access_token) init.headers.Authorization = "Bearer " + session.access_token;
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form) {
      init.body = form;
    }
    const res = await fetch(path.startsWith(base) ? path : base + path, init);
    if (res.status === 401 && retry && session?.refresh_token) {
      if (await refresh()) return send(method, path, {json, form, raw, retry: false, headers});
      store.clear();
      onLoggedOut();
    }
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      throw new ApiError(res.status, body?.error);
    }
    if (raw) return res;
    return res.status === 204 ? null : res.json();
  }

  return {
    session: store,
    get: (path, params) => send("GET", params ? `${path}?${query(params)}` : path),
    post: (path, json = {}, options = {}) => send("POST", path, {json, ...options}),
    put: (path, json = {}) => send("PUT", path, {json}),
    patch: (path, json = {}) => send("PATCH", path, {json}),
    del: (path, json) => send("DELETE", path, {json}),
    upload: (path, form) => send("POST", path, {form}),
    /** A protected image (badge, plate, photo) as an object URL for <img>. */
    async blobUrl(path) {
      const res = await send("GET", path, {raw: true});
      return URL.createObjectURL(await res.blob());
    },
    /** A file the API makes (PDF, XLSX), saved under its name. */
    async download(path, filename) {
      const res = await send("GET", path, {raw: true});
      saveBlob(await res.blob(), filename);
    },
    /** Every page of a list, following next_cursor. */
    async all(path, params = {}, max = 20) {
      const items = [];
      let cursor = null;
      for (let page = 0; page < max; page++) {
        const answer = await send("GET", `${path}?${query({...params, ...(cursor ? {cursor} : {})})}`);
        items.push(...answer.items);
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
      return items;
    },
    /** GET /me, cached until a login or logout (or {refresh: true}). */
    async me({refresh = false} = {}) {
      if (!profile || refresh) profile = await send("GET", "/me");
      return profile;
    },
    /** Log in with a wx.login() code. */
    async login(code) {
      const answer = await send("POST", "/auth/wechat/login", {json: {code}, retry: false});
      profile = null;
      store.set(answer);
      return answer;
    },
    /** Log in with a token pair got another way (the console's QR login). */
    useSession(tokens) {
      profile = null;
      store.set(tokens);
    },
    async logout() {
      const session = store.get();
      try {
        if (session) await send("POST", "/auth/logout", {retry: false});
      } finally {
        this.forget();
      }
    },
    /** Drop the session here without asking the server (it has ended it). */
    forget() {
      profile = null;
      store.clear();
    },
  };
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, value);
  }
  return search.toString();
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), {href: url, download: filename});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The deployment's facts: /faces/config.json (mock WeChat, demo accounts). */
let config = null;
export async function facesConfig() {
  config ??= fetch("/faces/config.json").then((res) => res.json());
  return config;
}

/** A code from the mock WeChat, as wx.login() would get one for this openid (demo only). */
export async function mockLoginCode(openid) {
  const {wechat_base: wechatBase} = await facesConfig();
  const res = await fetch(wechatBase + "/mock/wx/login", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({openid}),
  });
  if (!res.ok) throw new ApiError(res.status, {message: "模拟微信服务器不可用"});
  return (await res.json()).code;
}
