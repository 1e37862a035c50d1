// What the member pages share: refusals in words, the phone's position in the
// API's shape, signed codes read without trusting them, paged lists.
import {h, mount} from "/static/faces/dom.js";

/** The refusal as the user reads it: the API's Chinese message, and the figures behind it. */
export function refusal(error, ...extra) {
  const details = error?.details || {};
  const facts = [];
  if (details.distance_m !== undefined) facts.push(`您的位置距离 ${details.distance_m} 米`);
  if (details.radius_m !== undefined) facts.push(`允许范围 ${details.radius_m} 米`);
  if (details.accuracy_m !== undefined) facts.push(`定位精度 ${details.accuracy_m} 米`);
  return h("div", {class: "result bad", role: "alert", "data-error": error?.code || "error"},
    h("div", {}, error?.message || String(error)),
    facts.length ? h("div", {class: "muted", "data-facts": true}, facts.join(" · ")) : null,
    ...extra);
}

/** wx.getLocation() as the API takes a position ({lat, lng, coord_system, accuracy}). */
export async function apiLocation(wx) {
  const here = await wx.getLocation({type: "gcj02"});
  const point = {lat: here.latitude, lng: here.longitude, coord_system: "gcj02"};
  if (typeof here.accuracy === "number") point.accuracy = here.accuracy;
  return point;
}

function bytesOf(token) {
  const text = atob(token.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (token.length % 4)) % 4));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** The subject id inside a signed code (center, task): payload = version, kind, id (u32), key version, step. */
export function codeSubject(token) {
  try {
    const raw = bytesOf(token);
    if (raw.length < 6) return null;
    return ((raw[2] << 24) >>> 0) + (raw[3] << 16) + (raw[4] << 8) + raw[5];
  } catch {
    return null;
  }
}

/** The claims of a badge (https://<host>/b/<prefix>.<payload>.<signature>), unverified: for showing only. */
export function badgeClaims(qrText) {
  try {
    const token = qrText.split("/b/")[1] || "";
    const payload = token.split(".")[1];
    return JSON.parse(new TextDecoder().decode(bytesOf(payload)));
  } catch {
    return null;
  }
}

/**
 * A keyset-paged list: `load(cursor)` answers {items, next_cursor}; `item(row)` builds a row.
 * Shows the empty state, and "加载更多" while there is a next page.
 */
export function pagedList({load, item, empty = "暂无记录", name = "list"}) {
  const list = h("div", {"data-list": name});
  const more = h("button", {class: "full", "data-more": true, hidden: true}, "加载更多");
  const note = h("p", {class: "empty", hidden: true}, empty);
  const box = h("div", {}, list, note, more);
  let cursor = null;
  let count = 0;
  const next = async () => {
    more.disabled = true;
    more.textContent = "加载中……";
    try {
      const page = await load(cursor);
      for (const row of page.items) list.append(await item(row));
      count += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      note.hidden = count > 0;
    } catch (error) {
      list.append(refusal(error));
    } finally {
      more.disabled = false;
      more.textContent = "加载更多";
    }
  };
  more.addEventListener("click", next);
  return {element: box, ready: next()};
}

/** A busy button: disabled while `run` works, errors shown in `out`. */
export function action(label, run, {cls = "primary", out = null, attrs = {}} = {}) {
  const button = h("button", {class: cls, ...attrs}, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await run(button);
    } catch (error) {
      if (out) mount(out, refusal(error));
      else throw error;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export const PURPOSES = {visit: "来访", service_shift: "服务值班", study: "学习", meeting: "会议", activity: "活动"};

/** Centers are public: their names, fetched once per page load. */
const centerNames = new Map();
export function centerName(api, id) {
  if (!centerNames.has(id)) {
    centerNames.set(id, api.get(`/centers/${id}`).then((c) => c.name).catch(() => `服务中心 #${id}`));
  }
  return centerNames.get(id);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const minutes = Math.round(seconds / 60);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} 小时 ${minutes % 60} 分钟` : `${minutes} 分钟`;
}

/**
 * Communities the user can choose: the ones already known and those of
 * service centers and tasks near the phone first, then every community of
 * the directory (GET /org-directory) with its street.
 */
export async function communityChoices(ctx, known = []) {
  const found = new Map(known.filter(Boolean).map((org) => [org.id, org]));
  const add = (org) => { if (org && org.kind === "community" && !found.has(org.id)) found.set(org.id, org); };
  try {
    const here = await ctx.wx.getLocation({type: "gcj02"});
    const near = `${here.latitude},${here.longitude}`;
    const [centers, tasks] = await Promise.all([
      ctx.api.get("/centers", {near, radius_m: 5000, limit: 50}).catch(() => ({items: []})),
      ctx.api.get("/tasks", {near, radius_m: 5000, limit: 50}).catch(() => ({items: []})),
    ]);
    centers.items.forEach((center) => add(center.org));
    tasks.items.forEach((task) => add(task.community));
  } catch { /* no position: the directory still lists them */ }
  const directory = await ctx.api.all("/org-directory", {kind: "community", limit: 100}, 10).catch(() => []);
  for (const org of directory) {
    if (found.has(org.id)) found.get(org.id).parent ??= org.parent;
    else add(org);
  }
  return [...found.values()];
}

/** A <select name="branch_id"> of every Party branch in the directory, "branch（community）". */
export async function branchPicker(api) {
  const branches = await api.all("/org-directory", {kind: "party_branch", limit: 100}, 20);
  return h("select", {name: "branch_id", "data-branch": true},
    h("option", {value: ""}, "请选择所在党支部"),
    ...branches.map((branch) => h("option", {value: String(branch.id)},
      branch.parent ? `${branch.name}（${branch.parent.name}）` : branch.name)));
}

/** A <select> of communities plus "other (by number)". `value()` is the chosen id or null. */
export function communityPicker(choices, selected = null) {
  const select = h("select", {name: "community_id", "data-community": true},
    h("option", {value: ""}, choices.length ? "请选择社区" : "附近没有找到社区，请输入编号"),
    ...choices.map((org) => h("option", {value: String(org.id), selected: org.id === selected},
      org.parent ? `${org.name}（${org.parent.name}）` : org.name)),
    h("option", {value: "other"}, "其他社区（输入编号）"));
  const number = h("input", {name: "community_number", type: "number", min: "1", placeholder: "社区编号（向社区工作人员询问）", hidden: true});
  const sync = () => { number.hidden = select.value !== "other" && choices.length > 0; };
  select.addEventListener("change", sync);
  sync();
  return {
    element: h("div", {}, select, number),
    value() {
      const raw = select.value && select.value !== "other" ? select.value : number.value;
      const id = Number(raw);
      return Number.isInteger(id) && id > 0 ? id : null;
    },
  };
}
