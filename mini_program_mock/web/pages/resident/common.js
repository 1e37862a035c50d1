// What the resident pages share: Chinese names of the API's codes, a star
// rating, a confirmation sheet, a paged list, and the phone's position.
import {h, mount} from "/static/faces/dom.js";
import {sheet, wx} from "../../wx.js";

export const HELP_CATEGORIES = {
  elderly_care: "助老服务", errands: "代办跑腿", repairs: "维修帮忙",
  tutoring: "学业辅导", medical_escort: "陪同就医", other: "其他",
};

export const REQUEST_STATES = {
  submitted: ["待社区受理", "warn"], dispatched: ["已派单", "red"], rejected: ["未受理", "bad"],
  cancelled: ["已取消", ""], closed: ["已结束", "ok"],
};

export const TASK_STATES = {
  draft: ["社区安排中", "warn"], published: ["招募志愿者", "red"], in_progress: ["服务中", "red"],
  completed: ["已完成", "ok"], cancelled: ["已取消", "bad"],
};

export const PARTICIPATION_STATES = {
  waitlisted: ["候补中", ""], accepted: ["已接单", "red"], withdrawn: ["已退出", ""],
  checked_in: ["服务中", "red"], checked_out: ["待您确认", "warn"], confirmed: ["已确认", "ok"],
  no_show: ["未到场", "bad"], cancelled: ["已取消", ""],
};

/** A state tag from one of the tables above. */
export function stateTag(table, state) {
  const [text, kind] = table[state] || [state, ""];
  return h("span", {class: ["tag", kind], "data-state": state}, text);
}

/** Five star buttons; `.value` is the chosen score (0: none yet). */
export function stars(initial = 0, {readonly = false, onchange = null} = {}) {
  const box = h("div", {class: "stars", role: readonly ? "img" : "radiogroup", "aria-label": "评分"});
  box.value = initial;
  const buttons = [1, 2, 3, 4, 5].map((score) => h("button", {
    type: "button", "data-star": score, "aria-label": `${score} 星`, disabled: readonly || null,
    onclick: () => { box.value = score; paint(); onchange?.(score); },
  }, "★"));
  const paint = () => buttons.forEach((button, i) => button.classList.toggle("on", i < box.value));
  paint();
  box.append(...buttons);
  if (readonly) box.setAttribute("aria-label", `${initial} 星`);
  return box;
}

/** A bottom sheet asking to confirm; resolves true or false. */
export function confirmSheet(title, text, {ok = "确定", danger = false} = {}) {
  return sheet(title, (close) => h("div", {},
    h("p", {}, text),
    h("div", {class: "row", style: "margin-top:12px;justify-content:flex-end"},
      h("button", {type: "button", onclick: () => close(false)}, "再想想"),
      h("button", {type: "button", class: danger ? "danger" : "primary", "data-confirm": true,
                   onclick: () => close(true)}, ok)))).then(Boolean);
}

/** A list that shows the first page and a "more" button while there is a next cursor. */
export async function pagedList(container, {load, item, empty}) {
  let cursor = null;
  const more = h("button", {class: "full", type: "button", "data-more": true}, "加载更多");
  const list = h("div", {});
  const page = async () => {
    more.disabled = true;
    const answer = await load(cursor);
    list.append(...answer.items.map(item));
    cursor = answer.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    return answer;
  };
  more.addEventListener("click", () => page().catch((error) => more.replaceWith(
    h("div", {class: "result bad", role: "alert"}, error.message))));
  mount(container, list, more);
  const first = await page();
  if (!first.items.length) mount(container, h("p", {class: "empty"}, empty));
  return first;
}

/** wx.getLocation() with a deadline: null when the phone cannot tell in time. */
export async function locate(ms = 4000) {
  try {
    return await Promise.race([wx.getLocation(), new Promise((_, reject) => setTimeout(reject, ms))]);
  } catch {
    return null;
  }
}

/** {lat, lng, accuracy, coord_system} for the API, from a wx.getLocation() answer. */
export function coordinate(position) {
  if (!position) return null;
  const point = {lat: position.latitude, lng: position.longitude, coord_system: "gcj02"};
  if (typeof position.accuracy === "number") point.accuracy = position.accuracy;
  return point;
}

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** Idempotency-Key headers for one form: the same body sent again (a retry) keeps
 * its key, so it creates one thing; a changed body (after a refusal) gets a new one. */
export function idempotencyKey() {
  let last = null;
  let key = null;
  return (body) => {
    const text = JSON.stringify(body);
    if (text !== last) { last = text; key = newKey(); }
    return {headers: {"Idempotency-Key": key}};
  };
}

export function errorBox(error) {
  return h("div", {class: "result bad", role: "alert"}, error.message || String(error));
}
