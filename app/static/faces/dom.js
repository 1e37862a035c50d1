// Building pages without innerHTML: every text a user typed goes in as a text node.

/** h("button", {class: "primary", onclick: fn}, "确定") */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what el shows. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const TIME = new Intl.DateTimeFormat("zh-CN", {
  month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
});
const DATE = new Intl.DateTimeFormat("zh-CN", {year: "numeric", month: "numeric", day: "numeric"});

/** "12月2日 18:30" in the phone's zone; "" for nothing. */
export function fmtTime(iso) {
  return iso ? TIME.format(new Date(iso)) : "";
}

export function fmtDate(iso) {
  return iso ? DATE.format(new Date(iso)) : "";
}

/** A value for <input type="datetime-local"> from a Date, in local time. */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The values of a form's named fields; empty ones left out. */
export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() !== "") values[name] = value.trim();
  }
  return values;
}

/** A short message at the bottom of the screen, as wx.showToast shows it. */
export function toast(message, {kind = "info", ms = 2500} = {}) {
  const el = h("div", {class: `toast toast-${kind}`, role: "status"}, message);
  document.body.append(el);
  setTimeout(() => el.remove(), ms);
  return el;
}
