// What a scanned QR is, as the mini-program's entry page would tell:
// https://<host>/q/<token> carries a signed code whose second byte names its
// kind; https://<host>/b/<token> is a member's badge; https://<host>/l/<ticket>
// asks to log the admin console in. A mini-program code (QR_KIND=wxacode)
// opens the entry page with ?scene=<scene>, or wx.scanCode answers its
// `path`; the API says what the scene is (GET /scenes/{scene}) and gives the
// code to go on with, so both end in the same pages.
const KINDS = {R: "center", S: "center", P: "post_plate", M: "merchant_plate", T: "task"};

// The mini-program's entry page (app.json's first page, WXACODE_PAGE); the
// stand-in draws it at #/ (the home page).
export const ENTRY_PAGE = "pages/index/index";

export function classify(text) {
  const value = (text || "").trim();
  const badge = value.match(/\/b\/([^/?#\s]+)/);
  if (badge) return {kind: "badge", token: badge[1], text: value};
  const consoleLogin = value.match(/^https?:\/\/[^/\s]+\/l\/([A-Za-z0-9_-]{8,32})$/);
  if (consoleLogin) return {kind: "console_login", token: consoleLogin[1], text: value};
  const code = value.match(/\/q\/([A-Za-z0-9_-]+)/);
  const token = code ? code[1] : (/^[A-Za-z0-9_-]{20,}$/.test(value) ? value : null);
  if (!token) return {kind: "unknown", text: value};
  try {
    const raw = atob(token.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (token.length % 4)) % 4));
    return {kind: KINDS[raw[1]] || "unknown", token, text: value};
  } catch {
    return {kind: "unknown", text: value};
  }
}

/** The scene of a wx.scanCode answer for a mini-program code ({scanType: "WX_CODE", path}), else null. */
export function sceneOf(answer) {
  if (!answer?.path) return null;
  const [page, query = ""] = answer.path.split("?");
  if (page.replace(/^\//, "") !== ENTRY_PAGE) return null;
  return new URLSearchParams(query).get("scene");
}

/** A scene, as the API resolves it: {kind, token, text} like classify() gives for a URL code.
 * A forged, replaced or expired scene throws the API's error (404/410, its message in Chinese). */
export async function resolveScene(api, scene) {
  const answer = await api.get(`/scenes/${encodeURIComponent(scene)}`);
  return {kind: answer.kind, token: answer.code, text: answer.code};
}

/** What a wx.scanCode answer is: a QR's text classified, a mini-program code resolved. */
export async function scanned(api, answer) {
  const scene = sceneOf(answer);
  return scene ? resolveScene(api, scene) : classify(answer.result);
}

/** The page a scan opens: #/checkin, #/verify, #/plate, #/task-code or #/console-login, with the text. */
export function routeFor(scanned) {
  const text = encodeURIComponent(scanned.text);
  switch (scanned.kind) {
    case "center": return `#/checkin?code=${text}`;
    case "badge": return `#/verify?code=${text}`;
    case "post_plate":
    case "merchant_plate": return `#/plate?code=${text}`;
    case "task": return `#/task-code?code=${text}`;
    case "console_login": return `#/console-login?code=${text}`;
    default: return null;
  }
}
