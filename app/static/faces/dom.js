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

/** Open a page of a hash router: ``render()`` again when already there. */
export function navigate(hash, render) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** Replace what el shows. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (n) => String(n).padStart(2, "0");

/** "12月2日 18:30" in the phone's zone; "" for nothing. */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "2026年12月2日"; a bare date ("2026-12-02") is that calendar day, not UTC midnight. */
export function fmtDate(iso) {
  if (!iso) return "";
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(iso + "T00:00:00") : new Date(iso);
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`;
}

/** A value for <input type="datetime-local"> from a Date, in local time. */
export function localInput(date) {
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
  document.querySelectorAll(".toast").forEach((old) => old.remove());  // the newest replaces the last
  const el = h("div", {class: `toast toast-${kind}`, role: "status"}, message);
  document.body.append(el);
  setTimeout(() => el.remove(), ms);
  return el;
}
