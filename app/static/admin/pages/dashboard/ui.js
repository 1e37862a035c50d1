// Small pieces the dashboard, volunteer and grid pages share: a dialog with a
// form, a table, a local ISO time with its offset, a "load more" list.
import {formValues, h, mount} from "/static/faces/dom.js";

/** A modal dialog holding a form; `submit(values, form)` may throw an ApiError,
 *  whose Chinese message is shown in the dialog. Resolves after a successful submit. */
export function dialogForm(title, fields, submit, {okLabel = "确定", danger = false} = {}) {
  return new Promise((resolve) => {
    const error = h("div", {class: "result bad", role: "alert", hidden: true});
    const form = h("form", {method: "dialog"},
      h("h3", {}, title), fields, error,
      h("div", {class: "row", style: "justify-content:flex-end;margin-top:14px"},
        h("button", {type: "button", onclick: () => { dialog.close(); }}, "取消"),
        h("button", {type: "submit", class: danger ? "danger" : "primary"}, okLabel)));
    const dialog = h("dialog", {}, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      error.hidden = true;
      try {
        const answer = await submit(formValues(form), form);
        dialog.close();
        resolve(answer ?? true);
      } catch (failure) {
        mount(error, failure.message || String(failure));
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(null); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled field: field("原因", h("textarea", {name: "reason", required: true})). */
export function field(label, input) {
  return h("div", {class: "field"}, h("label", {}, label), input);
}

/** A table: columns [{label, cell(row) -> node|string, class?}]; `empty` when no rows. */
export function table(columns, rows, {empty = "暂无数据", caption = null, attrs = {}} = {}) {
  if (!rows.length) return h("p", {class: "empty"}, empty);
  return h("div", {class: "table-wrap"}, h("table", attrs,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((column) => h("th", {}, column.label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((column) => h("td", {class: column.class || null}, column.cell(row))))))));
}

/** "2026-12-02T09:30:00+08:00": a local time with the browser's offset (the API wants an explicit one). */
export function isoLocal(date) {
  const pad = (n) => String(Math.trunc(Math.abs(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:`
    + `${pad(date.getMinutes())}:${pad(date.getSeconds())}${offset >= 0 ? "+" : "-"}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** The value of <input type=datetime-local> as an ISO time with offset. */
export function fromLocalInput(value) {
  return value ? isoLocal(new Date(value)) : null;
}

/** "2026-12-02" of a Date, in local time. */
export function dayInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A list that loads page after page: `fetchPage(cursor)` -> {items, next_cursor}. */
export async function pagedList(container, fetchPage, render) {
  let cursor = null;
  const items = [];
  const more = h("button", {type: "button"}, "加载更多");
  async function load() {
    more.disabled = true;
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.next_cursor;
    mount(container, render(items), cursor ? h("div", {class: "row", style: "justify-content:center;margin:10px"}, more) : null);
    more.disabled = false;
  }
  more.addEventListener("click", () => load().catch((error) => mount(container, h("div", {class: "result bad", role: "alert"}, error.message))));
  await load();
}

/** Run an action from a button: disable it meanwhile, toast the API's message on refusal. */
export async function act(button, toast, call) {
  button.disabled = true;
  try {
    return await call();
  } catch (error) {
    toast(error.message || String(error), {kind: "error", ms: 4000});
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** The organizations of the admin's scope (their subtree), for pickers. */
export async function scopeOrgs(api, params = {}) {
  return api.all("/orgs", {limit: 100, ...params}, 50);
}
