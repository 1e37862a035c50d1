// Pieces the org and centers pages share: tables, a dialog that asks for
// fields (a reason, a date), the scope's subtree and a picker over it.
import {h, mount} from "/static/faces/dom.js";

export const KIND_NAMES = {
  district: "区委", linkage_center: "联动中心", street: "街道", community: "社区",
  business_zone: "商圈", office_building: "楼宇", school: "学校", two_new_org: "两新组织",
  housing_estate: "小区", property_company: "物业公司", party_branch: "党支部",
};

/** A table: columns [{label, cell(row) -> node|text}], or the empty text. */
export function table(columns, rows, {empty = "暂无数据", attrs = {}} = {}) {
  if (!rows.length) return h("p", {class: "empty"}, empty);
  return h("div", {class: "table-wrap"}, h("table", attrs,
    h("thead", {}, h("tr", {}, ...columns.map((column) => h("th", {}, column.label)))),
    h("tbody", {}, ...rows.map((row) => h("tr", {}, ...columns.map((column) => h("td", {}, column.cell(row))))))));
}

export function alertBox(error) {
  return h("div", {class: "result bad", role: "alert"}, error?.message || String(error));
}

/**
 * A modal dialog asking for fields; resolves with their values, or null when
 * cancelled. fields: [{name, label, type?, required?, options?: [[value, text]], value?}].
 * `submit(values)` may throw an ApiError: its message is shown and the dialog stays.
 */
export function ask({title, text, fields = [], confirm = "确定", danger = false, submit = null}) {
  return new Promise((resolve) => {
    const problem = h("div", {});
    const inputs = fields.map((field) => {
      const attrs = {name: field.name, required: field.required, value: field.value, placeholder: field.placeholder, step: field.step};
      const input = field.options
        ? h("select", attrs, ...field.options.map(([value, label]) => h("option", {value, selected: value === field.value}, label)))
        : field.type === "textarea" ? h("textarea", {...attrs, rows: 3})
          : h("input", {...attrs, type: field.type || "text"});
      return h("div", {class: "field"}, h("label", {}, field.label, field.required ? " *" : ""), input);
    });
    const form = h("form", {method: "dialog"},
      h("h2", {}, title), text ? h("p", {class: "muted"}, text) : null, ...inputs, problem,
      h("div", {class: "row", style: "justify-content:flex-end;margin-top:12px"},
        h("button", {type: "button", "data-cancel": "", onclick: () => finish(null)}, "取消"),
        h("button", {type: "submit", class: danger ? "danger" : "primary", "data-ok": ""}, confirm)));
    const dialog = h("dialog", {}, form);
    let done = false;
    function finish(value) {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = {};
      for (const field of fields) values[field.name] = form.elements[field.name].value.trim();
      if (!submit) return finish(values);
      const button = form.querySelector("[data-ok]");
      button.disabled = true;
      try {
        finish(await submit(values) ?? values);
      } catch (error) {
        mount(problem, alertBox(error));
        button.disabled = false;
      }
    });
    dialog.addEventListener("cancel", () => finish(null));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** The scope's subtree, in tree order: [{...node, level}] (level 0 = the scope's org). */
export async function subtree(api, scope) {
  const nodes = await api.all("/orgs", {limit: 100}, 50);
  const children = new Map();
  for (const node of nodes) {
    if (!children.has(node.parent_id)) children.set(node.parent_id, []);
    children.get(node.parent_id).push(node);
  }
  const root = nodes.find((node) => node.id === scope.org.id) || {...scope.org, parent_id: null};
  const ordered = [];
  (function walk(node, level) {
    ordered.push({...node, level});
    for (const child of children.get(node.id) || []) walk(child, level + 1);
  })(root, 0);
  return ordered;
}

/** The org a page works on: ?org= when it is in the subtree, else the scope's org. */
export function pickedOrg(nodes, params) {
  const wanted = Number(params.get("org"));
  return nodes.find((node) => node.id === wanted) || nodes[0];
}

/** A <select> over the subtree that reopens the page on the picked org. */
export function orgPicker(nodes, current, go, path, {filter = () => true} = {}) {
  return h("div", {class: "field"}, h("label", {}, "组织"),
    h("select", {"aria-label": "组织", "data-org-picker": "", onchange: (event) => go(`#${path}?org=${event.target.value}`)},
      ...nodes.filter(filter).map((node) => h("option", {value: node.id, selected: node.id === current.id},
        `${"　".repeat(node.level)}${node.name}（${KIND_NAMES[node.kind] || node.kind}）`))));
}
