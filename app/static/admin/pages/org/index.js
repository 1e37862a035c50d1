// The ORG area: the organization tree, roster import, members and their
// identities, binding requests, roles, and reports to communities.
import {fmtDate, fmtTime, h, mount} from "/static/faces/dom.js";
import {ROLE_NAMES} from "../../session.js";
import {alertBox, ask, KIND_NAMES, orgPicker, pickedOrg, subtree, table} from "./ui.js";

const ADMINS = ["district_admin", "org_admin"];
const IDENTITY = {active: ["已认证", "ok"], suspended: ["已暂停", "warn"], revoked: ["已撤销", "bad"], closed: ["已注销", ""]};
const MEMBER_STATUS = {full: "正式党员", probationary: "预备党员"};
const BINDING_STATE = {pending: ["待审核", "warn"], approved: ["已通过", "ok"], rejected: ["已驳回", "bad"], withdrawn: ["已撤回", ""]};
const MISMATCH = {
  not_in_roster: "手机号不在花名册中", name_mismatch: "姓名与花名册不一致",
  already_bound: "该党员已绑定其他微信", previously_revoked: "此前的身份已被撤销",
};
const REPORT_STATE = {pending: ["待确认", "warn"], confirmed: ["已确认", "ok"], declined: ["已拒绝", "bad"],
  withdrawn: ["已撤回", ""], ended: ["已结束", ""]};
const COLUMN_NAMES = {name: "姓名", phone: "手机号", branch: "支部", join_date: "入党日期", status: "党员状态", "*": "整个文件"};
const ROW_ERRORS = [
  [/^the file is empty$/, () => "文件是空的"],
  [/^missing column$/, () => "缺少此列"],
  [/^required$/, () => "必填"],
  [/^longer than (\d+) characters$/, (m) => `超过 ${m[1]} 个字`],
  [/^not a mainland mobile number/, () => "不是大陆手机号（1 开头的 11 位数字）"],
  [/^same phone as row (\d+)$/, (m) => `与第 ${m[1]} 行的手机号重复`],
  [/^not a date/, () => "日期格式不正确（应为 YYYY-MM-DD）"],
  [/^in the future$/, () => "日期晚于今天"],
  [/^must be probationary/, () => "应为“预备党员”或“正式党员”"],
  [/^no such branch under this organization$/, () => "本组织下没有这个支部"],
  [/^several branches have this name/, () => "有多个同名支部，请填写支部编号"],
  [/^more than (\d+) rows/, (m) => `超过 ${m[1]} 行，请拆分文件`],
];

function tag([text, kind] = ["", ""]) {
  return h("span", {class: `tag ${kind}`}, text);
}

function rowError(text) {
  for (const [pattern, say] of ROW_ERRORS) {
    const match = pattern.exec(text);
    if (match) return say(match);
  }
  return text;
}

/** Load the subtree and the org the page works on; draws the header. */
async function frame(view, ctx, title, path, options = {}) {
  const nodes = await subtree(ctx.api, ctx.scope);
  const picked = pickedOrg(nodes, ctx.params);
  const org = options.filter && !options.filter(picked) ? nodes.find(options.filter) || picked : picked;
  const body = h("div", {});
  mount(view, h("h2", {}, title),
    h("div", {class: "toolbar"}, orgPicker(nodes, org, ctx.go, path, options), ...(options.tools || [])), body);
  return {nodes, org, body};
}

// ---- the tree ---------------------------------------------------------------

const tree = {
  title: "组织架构",
  async render(view, ctx) {
    const nodes = await subtree(ctx.api, ctx.scope);
    const current = pickedOrg(nodes, ctx.params);
    const byParent = new Map();
    for (const node of nodes) {
      if (!byParent.has(node.parent_id)) byParent.set(node.parent_id, []);
      byParent.get(node.parent_id).push(node);
    }
    const branch = (node) => h("li", {},
      h("a", {href: `#/org?org=${node.id}`, class: node.id === current.id ? "current" : null, "data-org": node.id},
        node.name), " ", h("span", {class: "muted"}, KIND_NAMES[node.kind] || node.kind),
      byParent.has(node.id) && node.level < 12 ? h("ul", {}, ...byParent.get(node.id).map(branch)) : null);
    const children = byParent.get(current.id) || [];
    const manage = ADMINS.includes(ctx.scope.role);
    const links = manage ? [
      ["花名册导入", "/org/roster"], ["党员管理", "/org/members"], ["绑定申请", "/org/bindings"],
      ["角色权限", "/org/roles"], ["报到审核", "/org/reports"],
    ] : [];
    mount(view, h("h2", {}, "组织架构"),
      h("div", {class: "two"},
        h("div", {class: "card tree"}, h("ul", {style: "padding-left:0"}, branch(nodes[0]))),
        h("div", {class: "card", "data-org-detail": ""},
          h("h3", {}, current.name),
          h("p", {class: "muted"}, `${KIND_NAMES[current.kind] || current.kind} · 编号 ${current.id}` +
            (current.created_at ? ` · 创建于 ${fmtDate(current.created_at)}` : "")),
          h("p", {}, children.length ? `下级组织 ${children.length} 个` : "没有下级组织"),
          links.length ? h("div", {class: "actions"}, ...links.map(([label, path]) =>
            h("a", {class: "button", href: `#${path}?org=${current.id}`}, label))) : null)));
  },
};

// ---- roster import ------------------------------------------------------------

const roster = {
  title: "花名册导入",
  async render(view, ctx) {
    const {org, body} = await frame(view, ctx, "花名册导入", "/org/roster");
    const file = h("input", {type: "file", name: "file", accept: ".csv,.xlsx,text/csv", "data-roster-file": "", required: true});
    const result = h("div", {"data-roster-result": ""});
    const list = h("div", {});
    const showRoster = async () => {
      const page = await ctx.api.get(`/orgs/${org.id}/roster`, {limit: 100});
      mount(list, h("h3", {}, "花名册（前 100 条）"), table([
        {label: "姓名", cell: (row) => row.name}, {label: "手机号", cell: (row) => row.phone},
        {label: "支部", cell: (row) => row.branch?.name || ""}, {label: "入党日期", cell: (row) => row.join_date},
        {label: "党员状态", cell: (row) => MEMBER_STATUS[row.member_status] || row.member_status},
      ], page.items, {empty: "花名册中还没有党员"}));
    };
    const upload = async (event) => {
      event.preventDefault();
      if (!file.files.length) return;
      const form = new FormData();
      form.append("file", file.files[0]);
      mount(result, h("p", {class: "muted"}, "导入中……"));
      try {
        const answer = await ctx.api.upload(`/orgs/${org.id}/roster`, form);
        mount(result, h("div", {class: "result ok", role: "status"},
          `导入成功：新增 ${answer.created} 人，更新 ${answer.updated} 人，未变 ${answer.unchanged} 人。`));
        await showRoster();
      } catch (error) {
        const rows = error.details?.rows || [];
        mount(result, alertBox(error), rows.length ? table([
          {label: "行号", cell: (row) => row.row ? `第 ${row.row} 行` : "—"},
          {label: "列", cell: (row) => COLUMN_NAMES[row.column] || row.column},
          {label: "问题", cell: (row) => rowError(row.error)},
        ], rows, {attrs: {"data-roster-errors": ""}}) : null);
      }
    };
    mount(body,
      h("div", {class: "card"},
        h("p", {class: "muted"}, "上传 CSV 或 XLSX 文件，首行为表头：姓名、手机号、支部（名称或编号）、入党日期（YYYY-MM-DD）、党员状态（正式党员 / 预备党员）。",
          "整个文件通过校验才会导入；再次导入同一名单会更新已有记录，不会重复。"),
        h("form", {class: "row", onsubmit: upload}, file, h("button", {class: "primary", "data-roster-upload": ""}, "导入"))),
      result, list);
    await showRoster();
  },
};

// ---- members --------------------------------------------------------------------

async function changeIdentity(ctx, member, action, reload) {
  const names = {suspend: "暂停", reinstate: "恢复", revoke: "撤销"};
  const reason = await ask({
    title: `${names[action]}党员身份：${member.name}`,
    text: action === "revoke" ? "撤销后不可恢复，该党员需重新申请绑定。" : null,
    fields: [{name: "reason", label: "原因", type: "textarea", required: action !== "reinstate"}],
    confirm: names[action], danger: action !== "reinstate",
    submit: (values) => ctx.api.post(`/members/${member.id}/${action}`, {reason: values.reason || null}),
  });
  if (reason) {
    ctx.toast(`已${names[action]}`);
    reload();
  }
}

const members = {
  title: "党员管理",
  async render(view, ctx) {
    const status = ctx.params.get("status") || "";
    const statusPicker = h("div", {class: "field"}, h("label", {}, "状态"),
      h("select", {"aria-label": "状态", onchange: (event) => ctx.go(`#/org/members?org=${ctx.params.get("org") || ""}&status=${event.target.value}`)},
        h("option", {value: ""}, "全部"),
        ...Object.entries(IDENTITY).map(([value, [label]]) => h("option", {value, selected: value === status}, label))));
    const {org, body} = await frame(view, ctx, "党员管理", "/org/members", {tools: [statusPicker]});
    const items = await ctx.api.all(`/orgs/${org.id}/members`, {limit: 100, status});
    const reload = () => ctx.go(location.hash);
    mount(body, table([
      {label: "姓名", cell: (m) => m.name}, {label: "身份编号", cell: (m) => m.identity_no},
      {label: "支部", cell: (m) => m.branch?.name || ""}, {label: "手机号", cell: (m) => m.phone},
      {label: "党员状态", cell: (m) => MEMBER_STATUS[m.member_status] || m.member_status},
      {label: "入党日期", cell: (m) => m.member_since || ""},
      {label: "身份", cell: (m) => [tag(IDENTITY[m.status]), m.status_reason ? h("div", {class: "muted"}, m.status_reason) : null]},
      {label: "操作", cell: (m) => h("div", {class: "actions", "data-member": m.name},
        m.status === "active" ? h("button", {onclick: () => changeIdentity(ctx, m, "suspend", reload)}, "暂停") : null,
        m.status === "suspended" ? h("button", {onclick: () => changeIdentity(ctx, m, "reinstate", reload)}, "恢复") : null,
        m.status !== "revoked" ? h("button", {class: "danger", onclick: () => changeIdentity(ctx, m, "revoke", reload)}, "撤销") : null)},
    ], items, {empty: "没有符合条件的党员"}));
  },
};

// ---- binding requests -------------------------------------------------------------

const bindings = {
  title: "绑定申请",
  async render(view, ctx) {
    const state = ctx.params.get("state") ?? "pending";
    const statePicker = h("div", {class: "field"}, h("label", {}, "状态"),
      h("select", {"aria-label": "状态", onchange: (event) => ctx.go(`#/org/bindings?org=${ctx.params.get("org") || ""}&state=${event.target.value}`)},
        h("option", {value: ""}, "全部"),
        ...Object.entries(BINDING_STATE).map(([value, [label]]) => h("option", {value, selected: value === state}, label))));
    const {org, body} = await frame(view, ctx, "绑定申请", "/org/bindings", {tools: [statePicker]});
    const items = await ctx.api.all(`/orgs/${org.id}/binding-requests`, {limit: 100, state});
    const reload = () => ctx.go(location.hash);
    const approve = async (request) => {
      const needsEntry = request.mismatch === "not_in_roster" || request.mismatch === "previously_revoked";
      const done = await ask({
        title: `通过绑定申请：${request.name}`,
        text: needsEntry ? "该手机号不在花名册中，通过后将按以下信息建立花名册记录。" : `${MISMATCH[request.mismatch] || ""}。请核实后通过。`,
        fields: needsEntry ? [
          {name: "join_date", label: "入党日期", type: "date", required: true},
          {name: "member_status", label: "党员状态", options: [["full", "正式党员"], ["probationary", "预备党员"]], value: "full"},
        ] : [],
        confirm: "通过",
        submit: (values) => ctx.api.post(`/binding-requests/${request.id}/approve`,
          needsEntry ? values : {}),
      });
      if (done) { ctx.toast("已通过，党员身份已签发"); reload(); }
    };
    const reject = async (request) => {
      const done = await ask({
        title: `驳回绑定申请：${request.name}`, text: "申请人会看到驳回原因。",
        fields: [{name: "reason", label: "驳回原因", type: "textarea", required: true}], confirm: "驳回", danger: true,
        submit: (values) => ctx.api.post(`/binding-requests/${request.id}/reject`, values),
      });
      if (done) { ctx.toast("已驳回"); reload(); }
    };
    mount(body, table([
      {label: "姓名", cell: (r) => r.name}, {label: "手机号", cell: (r) => r.phone},
      {label: "申请组织", cell: (r) => r.org?.name || ""},
      {label: "未自动通过的原因", cell: (r) => MISMATCH[r.mismatch] || r.mismatch},
      {label: "申请时间", cell: (r) => fmtTime(r.created_at)},
      {label: "状态", cell: (r) => [tag(BINDING_STATE[r.state]), r.reject_reason ? h("div", {class: "muted"}, r.reject_reason) : null]},
      {label: "操作", cell: (r) => r.state === "pending" ? h("div", {class: "actions", "data-binding": r.name},
        h("button", {class: "primary", onclick: () => approve(r)}, "通过"),
        h("button", {class: "danger", onclick: () => reject(r)}, "驳回")) : ""},
    ], items, {empty: state === "pending" ? "没有待审核的绑定申请" : "没有绑定申请"}));
  },
};

// ---- roles ------------------------------------------------------------------------

const roles = {
  title: "角色权限",
  async render(view, ctx) {
    const {org, body} = await frame(view, ctx, "角色权限", "/org/roles");
    const grants = await ctx.api.all(`/orgs/${org.id}/roles`, {limit: 100});
    const reload = () => ctx.go(location.hash);
    const grantable = Object.keys(ROLE_NAMES).filter((role) => ctx.scope.role === "district_admin" || role !== "district_admin");
    const problem = h("div", {});
    const form = h("form", {class: "toolbar", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const grant = await ctx.api.post(`/orgs/${org.id}/roles`,
          {user_id: Number(form.elements.user_id.value), role: form.elements.role.value});
        ctx.toast(`已授予用户 #${grant.user_id} ${ROLE_NAMES[grant.role]}`);
        reload();
      } catch (error) {
        mount(problem, alertBox(error));
      }
    }},
    h("div", {class: "field"}, h("label", {}, "用户编号"), h("input", {name: "user_id", type: "number", min: 1, required: true, placeholder: "如 12"})),
    h("div", {class: "field"}, h("label", {}, "角色"), h("select", {name: "role"}, ...grantable.map((role) => h("option", {value: role}, ROLE_NAMES[role])))),
    h("button", {class: "primary"}, "授予角色"));
    mount(body,
      h("div", {class: "card"}, h("p", {class: "muted"}, `在“${org.name}”上授予的角色对其全部下级组织有效。用户编号可在对方小程序“我的”页面看到。`), form, problem),
      table([
        {label: "用户", cell: (g) => `用户 #${g.user_id}`}, {label: "角色", cell: (g) => ROLE_NAMES[g.role] || g.role},
        {label: "授予时间", cell: (g) => fmtTime(g.created_at)},
        {label: "操作", cell: (g) => h("button", {class: "danger", onclick: async () => {
          const done = await ask({title: "收回角色", text: `收回用户 #${g.user_id} 的“${ROLE_NAMES[g.role]}”角色？`, confirm: "收回", danger: true,
            submit: () => ctx.api.del(`/orgs/${org.id}/roles/${g.id}`).then(() => true)});
          if (done) { ctx.toast("已收回"); reload(); }
        }}, "收回")},
      ], grants, {empty: "此组织上还没有授予角色"}));
  },
};

// ---- reports to communities --------------------------------------------------------

const reports = {
  title: "报到审核",
  async render(view, ctx) {
    const state = ctx.params.get("state") ?? "pending";
    const statePicker = h("div", {class: "field"}, h("label", {}, "状态"),
      h("select", {"aria-label": "状态", onchange: (event) => ctx.go(`#/org/reports?org=${ctx.params.get("org") || ""}&state=${event.target.value}`)},
        h("option", {value: ""}, "全部"),
        ...Object.entries(REPORT_STATE).map(([value, [label]]) => h("option", {value, selected: value === state}, label))));
    const {org, body} = await frame(view, ctx, "报到审核", "/org/reports",
      {tools: [statePicker], filter: (node) => node.kind === "community"});
    if (org.kind !== "community") {
      mount(body, h("p", {class: "empty"}, "党员和单位向社区报到：请在上方选择一个社区。"));
      return;
    }
    const [memberReports, orgReports] = await Promise.all([
      ctx.api.all(`/orgs/${org.id}/member-reports`, {limit: 100, state}),
      ctx.api.all(`/orgs/${org.id}/community-reports`, {limit: 100, state}),
    ]);
    const reload = () => ctx.go(location.hash);
    const decide = (kind, report, confirm) => async () => {
      const done = await ask({
        title: confirm ? "确认报到" : "拒绝报到",
        fields: confirm ? [] : [{name: "reason", label: "拒绝原因", type: "textarea", required: true}],
        confirm: confirm ? "确认" : "拒绝", danger: !confirm,
        submit: (values) => ctx.api.post(`/${kind}/${report.id}/${confirm ? "confirm" : "decline"}`, {reason: values.reason || null}),
      });
      if (done) { ctx.toast(confirm ? "已确认" : "已拒绝"); reload(); }
    };
    const actions = (kind, report) => report.state === "pending" ? h("div", {class: "actions"},
      h("button", {class: "primary", onclick: decide(kind, report, true)}, "确认"),
      h("button", {class: "danger", onclick: decide(kind, report, false)}, "拒绝")) : "";
    const stateCell = (report) => [tag(REPORT_STATE[report.state]), report.decline_reason ? h("div", {class: "muted"}, report.decline_reason) : null];
    mount(body,
      h("h3", {}, "党员报到（在职党员到居住地社区）"),
      table([
        {label: "用户", cell: (r) => `用户 #${r.user_id}`}, {label: "报到时间", cell: (r) => fmtTime(r.created_at)},
        {label: "状态", cell: stateCell}, {label: "操作", cell: (r) => actions("member-reports", r)},
      ], memberReports, {empty: "没有党员报到"}),
      h("h3", {style: "margin-top:16px"}, "组织报到（单位党组织到社区）"),
      table([
        {label: "单位", cell: (r) => r.org?.name || ""}, {label: "报到时间", cell: (r) => fmtTime(r.created_at)},
        {label: "状态", cell: stateCell}, {label: "操作", cell: (r) => actions("community-reports", r)},
      ], orgReports, {empty: "没有组织报到"}));
  },
};

// ---- the audit trail ---------------------------------------------------------------

const ACTION_NAMES = {
  "org.create": "新建组织", "org.rename": "组织改名", "org.move": "调整上级组织",
  "role.grant": "授予角色", "role.revoke": "收回角色", "roster.import": "导入花名册",
  "binding.approve": "通过绑定申请", "binding.reject": "驳回绑定申请",
  "identity.suspend": "暂停党员身份", "identity.reinstate": "恢复党员身份", "identity.revoke": "撤销党员身份",
  "identity.close": "注销账号（党员身份）", "account.close": "注销账号", "user.disable": "停用账号",
  "member_report.confirm": "确认党员报到", "member_report.decline": "拒绝党员报到",
  "org_report.confirm": "确认组织报到", "org_report.decline": "拒绝组织报到",
  "center.create": "新建阵地", "center.update": "修改阵地", "center.delete": "删除阵地",
  "center.rotate_key": "更换签到码密钥", "display_device.create": "登记显示屏", "display_device.revoke": "停用显示屏",
  "post.create": "新建示范岗", "post.update": "修改示范岗", "post.assign": "安排上岗", "post.unassign": "撤下上岗",
  "merchant_plate.approve": "通过商户亮牌", "merchant_plate.reject": "驳回商户亮牌",
  "merchant_plate.revoke": "撤销商户亮牌", "badge_key.rotate": "更换身份码密钥",
  "help_request.reject": "驳回求助", "task.create": "新建任务", "task.update": "修改任务",
  "task.publish": "发布任务", "task.start": "开始任务", "task.complete": "完成任务", "task.cancel": "取消任务",
  "participation.set_times": "补录服务时间", "participation.no_show": "标记未到", "participation.confirm": "确认服务",
  "participation.correct": "更正时长", "correction_request.reject": "驳回更正申请", "certificate.revoke": "撤销证明",
  "text.release": "放行文字", "text.reject": "驳回文字", "photo.release": "放行照片", "photo.reject": "驳回照片",
  "grid.create": "新建网格", "grid.update": "修改网格", "grid_leader.assign": "任命网格员",
  "event_category.set": "设置事件类别", "time_limit.set": "设置办理时限",
};

const OBJECT_NAMES = {
  org_nodes: "组织", role_grants: "角色", binding_requests: "绑定申请", member_identities: "党员身份", users: "用户",
  member_community_reports: "党员报到", org_community_reports: "组织报到", service_centers: "阵地",
  display_devices: "显示屏", service_posts: "示范岗", post_assignments: "上岗安排", merchant_plates: "商户亮牌",
  badge_keys: "身份码密钥", help_requests: "求助", tasks: "任务", participations: "参与记录",
  correction_requests: "更正申请", volunteer_certificates: "志愿服务证明", moderation_items: "待审文字",
  uploads: "照片", grids: "网格", grid_leaders: "网格员", event_categories: "事件类别", event_time_limits: "办理时限",
};

function change(entry) {
  const keys = [...new Set([...Object.keys(entry.before || {}), ...Object.keys(entry.after || {})])]
    .filter((key) => key !== "overwritten");
  const show = (value) => value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
  const lines = keys.slice(0, 6).map((key) => h("div", {},
    h("span", {class: "muted"}, `${key}：`),
    entry.before && key in entry.before ? [h("del", {}, show(entry.before[key])), " → "] : null,
    entry.after && key in entry.after ? show(entry.after[key]) : "（已删除）"));
  const overwritten = entry.after?.overwritten || [];
  if (overwritten.length) lines.push(h("div", {class: "muted"}, `覆盖了 ${overwritten.length} 条花名册记录`));
  return lines;
}

const auditTrail = {
  title: "操作日志",
  async render(view, ctx) {
    const {org, body} = await frame(view, ctx, "操作日志", "/org/audit");
    const action = ctx.params.get("action") || "";
    const picker = h("select", {name: "action", onchange: () =>
      ctx.go(`#/org/audit?org=${org.id}${picker.value ? `&action=${encodeURIComponent(picker.value)}` : ""}`)},
    h("option", {value: ""}, "全部操作"),
    ...Object.entries(ACTION_NAMES).map(([value, label]) => h("option", {value, selected: value === action}, label)));
    const list = h("div", {});
    const more = h("button", {}, "加载更多");
    let cursor = null;
    const rows = [];
    const load = async () => {
      const page = await ctx.api.get("/audit", {org_id: org.id, limit: 30, ...(action ? {action} : {}), ...(cursor ? {cursor} : {})});
      rows.push(...page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      mount(list, table([
        {label: "时间", cell: (e) => fmtTime(e.at)},
        {label: "操作人", cell: (e) => e.actor_id ? `用户 #${e.actor_id}` : "系统"},
        {label: "操作", cell: (e) => ACTION_NAMES[e.action] || e.action},
        {label: "对象", cell: (e) => `${OBJECT_NAMES[e.object_type] || e.object_type}${e.object_id ? ` #${e.object_id}` : ""}`},
        {label: "变更（前 → 后）", cell: change},
      ], rows, {empty: "没有操作记录", attrs: {"data-audit": ""}}));
    };
    more.onclick = load;
    mount(body, h("div", {class: "toolbar"}, picker), h("p", {class: "muted"},
      "本组织及下级组织的每一次管理操作与身份状态变更，只增不改。"), list, more);
    await load();
  },
};

export const routes = {
  "/org": tree, "/org/roster": roster, "/org/members": members, "/org/bindings": bindings,
  "/org/roles": roles, "/org/reports": reports, "/org/audit": auditTrail,
};
export const nav = [
  {group: "组织", label: "组织架构", href: "#/org"},
  {group: "组织", label: "花名册导入", href: "#/org/roster", roles: ADMINS},
  {group: "组织", label: "党员管理", href: "#/org/members", roles: ADMINS},
  {group: "组织", label: "绑定申请", href: "#/org/bindings", roles: ADMINS},
  {group: "组织", label: "角色权限", href: "#/org/roles", roles: ADMINS},
  {group: "组织", label: "报到审核", href: "#/org/reports", roles: ADMINS},
  {group: "组织", label: "操作日志", href: "#/org/audit", roles: ADMINS},
];
