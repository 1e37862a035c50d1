// Volunteer service in the console: residents' help requests to review (reject
// or turn into a task), tasks and their states, a task's participants, its
// on-site check-in code, attendance, confirmation and hours corrections.
import {fmtTime, h, localInput, mount} from "/static/faces/dom.js";
import {act, dialogForm, field, fromLocalInput, pagedList, scopeOrgs, table} from "../dashboard/ui.js";
import {
  CATEGORIES, CORRECTION_STATES, HELP_CATEGORIES, PARTICIPATION_STATES, readableApi, REQUEST_STATES, TASK_STATES, tone,
} from "./labels.js";

const tag = (labels, state) => h("span", {class: ["tag", tone(state)], "data-state": state}, labels[state] || state);
const period = (start, end) => `${fmtTime(start)} – ${fmtTime(end)}`;
const options = (labels, selected, {all = null} = {}) => [
  all !== null ? h("option", {value: ""}, all) : null,
  ...Object.entries(labels).map(([value, label]) => h("option", {value, selected: value === selected}, label))];

// ---- help requests ------------------------------------------------------------------

const helpRequests = {
  title: "求助审核",
  async render(view, {api: raw, go, toast, params}) {
    const api = readableApi(raw);
    const state = params.has("state") ? params.get("state") : "submitted";
    const list = h("div", {id: "help-requests"}, h("p", {class: "empty"}, "加载中……"));
    mount(view, h("h2", {}, "群众求助（点单）"),
      h("div", {class: "toolbar"},
        field("状态", h("select", {name: "state", onchange: (event) => go(`#/help-requests?state=${event.target.value}`)},
          options(REQUEST_STATES, state, {all: "全部"})))),
      list);
    const reject = async (request) => {
      const done = await dialogForm(`驳回求助 #${request.id}`,
        [h("p", {class: "muted"}, "驳回原因会告知求助的群众。"),
          field("驳回原因", h("textarea", {name: "reason", required: true, maxlength: 200}))],
        ({reason}) => api.post(`/help-requests/${request.id}/reject`, {reason}), {okLabel: "驳回", danger: true});
      if (done) { toast("已驳回"); go(location.hash); }
    };
    await pagedList(list, (cursor) => api.get("/help-requests", {state, cursor, limit: 50}), (items) => table([
      {label: "编号", cell: (r) => `#${r.id}`},
      {label: "社区", cell: (r) => r.community.name},
      {label: "类别", cell: (r) => CATEGORIES[r.category] || r.category},
      {label: "需求", cell: (r) => h("div", {style: "max-width:320px"}, r.description,
        r.address ? h("div", {class: "muted"}, r.address) : null)},
      {label: "期望时间", cell: (r) => period(r.window_start, r.window_end)},
      {label: "联系电话", cell: (r) => r.contact_phone},
      {label: "状态", cell: (r) => [tag(REQUEST_STATES, r.state), r.reject_reason ? h("div", {class: "muted"}, r.reject_reason) : null]},
      {label: "操作", cell: (r) => r.state === "submitted" ? h("div", {class: "actions"},
        h("button", {class: "primary", onclick: () => go(`#/tasks/new?request=${r.id}`)}, "转为任务"),
        h("button", {class: "danger", onclick: () => reject(r)}, "驳回")) : ""},
    ], items, {empty: state === "submitted" ? "没有待审核的求助" : "没有求助", attrs: {"aria-label": "求助列表"}}));
  },
};

// ---- tasks --------------------------------------------------------------------------

const tasks = {
  title: "志愿任务",
  async render(view, {api, go, params, scope}) {
    const filters = {state: params.get("state") || "", category: params.get("category") || "",
      community_id: params.get("community_id") || String(scope.org.id)};
    const communities = await scopeOrgs(api, {kind: "community"});
    const apply = (change) => go("#/tasks?" + new URLSearchParams({...filters, ...change}));
    const list = h("div", {}, h("p", {class: "empty"}, "加载中……"));
    mount(view, h("div", {class: "spread"}, h("h2", {}, "志愿任务（派单）"),
      h("a", {class: "button primary", href: "#/tasks/new"}, "新建任务")),
    h("div", {class: "toolbar"},
      field("状态", h("select", {name: "state", onchange: (e) => apply({state: e.target.value})},
        options(TASK_STATES, filters.state, {all: "全部（不含草稿）"}))),
      field("类别", h("select", {name: "category", onchange: (e) => apply({category: e.target.value})},
        options(CATEGORIES, filters.category, {all: "全部"}))),
      field("范围", h("select", {name: "community_id", onchange: (e) => apply({community_id: e.target.value})},
        h("option", {value: scope.org.id}, `${scope.org.name}（全部）`),
        communities.filter((c) => c.id !== scope.org.id).map((c) => h("option", {value: c.id, selected: String(c.id) === filters.community_id}, c.name))))),
    list);
    await pagedList(list, (cursor) => api.get("/tasks", {...filters, cursor, limit: 50}), (items) => table([
      {label: "任务", cell: (t) => h("a", {href: `#/task?id=${t.id}`}, t.title)},
      {label: "社区", cell: (t) => t.community.name},
      {label: "类别", cell: (t) => CATEGORIES[t.category] || t.category},
      {label: "时间", cell: (t) => period(t.starts_at, t.ends_at)},
      {label: "名额", cell: (t) => `${t.places_taken} / ${t.places}`},
      {label: "来源", cell: (t) => t.help_request_id ? `求助 #${t.help_request_id}` : "社区发布"},
      {label: "状态", cell: (t) => tag(TASK_STATES, t.state)},
    ], items, {empty: "没有符合条件的任务", attrs: {"aria-label": "任务列表"}}));
  },
};

// ---- a new task (from a help request or on its own) ---------------------------------------

const newTask = {
  title: "新建任务",
  async render(view, {api: raw, go, toast, params, scope}) {
    const api = readableApi(raw);
    const requestId = params.get("request");
    const request = requestId ? await api.get(`/help-requests/${requestId}`) : null;
    const communities = request ? [] : await scopeOrgs(api, {kind: "community"});
    const inScope = scope.org.kind === "community" ? [scope.org, ...communities.filter((c) => c.id !== scope.org.id)] : communities;
    const start = request ? new Date(request.window_start) : new Date(Date.now() + 24 * 3600e3);
    const end = request ? new Date(request.window_end) : new Date(start.getTime() + 2 * 3600e3);
    const needsPoint = !request || !request.location;
    const error = h("div", {class: "result bad", role: "alert", hidden: true});
    const form = h("form", {class: "card", style: "max-width:760px"},
      request ? h("div", {class: "muted", style: "margin-bottom:6px"},
        `来自 ${request.community.name} 的求助 #${request.id}（${CATEGORIES[request.category] || request.category}）：${request.description}`) : null,
      request ? null : field("社区", h("select", {name: "community_id", required: true},
        inScope.map((c) => h("option", {value: c.id}, c.name)))),
      field("任务标题", h("input", {name: "title", required: true, maxlength: 100,
        value: request ? `${CATEGORIES[request.category] || ""}：${request.description}`.slice(0, 40) : ""})),
      field("任务说明", h("textarea", {name: "description", maxlength: 2000, value: request ? request.description : ""})),
      h("div", {class: "two"},
        field("类别", h("select", {name: "category"}, options(
          Object.fromEntries([...HELP_CATEGORIES, "community_service"].map((c) => [c, CATEGORIES[c]])),
          request ? request.category : "community_service"))),
        field("地点", h("input", {name: "address", maxlength: 200, value: request ? request.address : ""}))),
      needsPoint ? h("div", {class: "two"},
        field("纬度（GCJ-02）", h("input", {name: "lat", type: "number", step: "any", required: true, min: -90, max: 90})),
        field("经度（GCJ-02）", h("input", {name: "lng", type: "number", step: "any", required: true, min: -180, max: 180})))
        : h("p", {class: "muted"}, `位置：求助登记的位置（${request.location.lat.toFixed(5)}, ${request.location.lng.toFixed(5)}）`),
      h("div", {class: "two"},
        field("开始时间", h("input", {name: "starts_at", type: "datetime-local", required: true, value: localInput(start)})),
        field("结束时间", h("input", {name: "ends_at", type: "datetime-local", required: true, value: localInput(end)}))),
      h("div", {class: "two"},
        field("名额", h("input", {name: "places", type: "number", min: 1, max: 10000, required: true, value: request ? 1 : 5})),
        field("签到半径（米）", h("input", {name: "radius_m", type: "number", min: 20, max: 5000, value: 300}))),
      h("div", {class: "two"},
        field("每人计时上限（小时，留空按任务时长）", h("input", {name: "hours_credited", type: "number", min: 0, max: 24, step: "0.25"})),
        field("所需技能（用逗号分隔）", h("input", {name: "required_skills", maxlength: 300}))),
      h("label", {class: "row", style: "color:inherit"}, h("input", {type: "checkbox", name: "members_only", style: "width:auto"}), "仅限党员志愿者"),
      error,
      h("div", {class: "row", style: "margin-top:12px"},
        h("button", {type: "submit", class: "primary", name: "publish", value: "1"}, "创建并发布"),
        h("button", {type: "submit", name: "publish", value: ""}, "保存为草稿"),
        h("a", {class: "button", href: request ? "#/help-requests" : "#/tasks"}, "返回")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const publish = Boolean(event.submitter?.value);
      const data = new FormData(form);
      const text = (name) => String(data.get(name) || "").trim();
      const body = {
        title: text("title"), description: text("description"), category: text("category"), address: text("address"),
        starts_at: fromLocalInput(text("starts_at")), ends_at: fromLocalInput(text("ends_at")),
        places: Number(text("places")), members_only: data.get("members_only") === "on",
        required_skills: text("required_skills").split(/[,，、]/).map((s) => s.trim()).filter(Boolean),
      };
      if (text("radius_m")) body.radius_m = Number(text("radius_m"));
      if (text("hours_credited")) body.hours_credited = Number(text("hours_credited"));
      if (request) body.help_request_id = request.id;
      else body.community_id = Number(text("community_id"));
      if (needsPoint) body.location = {lat: Number(text("lat")), lng: Number(text("lng")), coord_system: "gcj02"};
      error.hidden = true;
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      try {
        const task = await api.post("/tasks", body);
        if (publish) await api.post(`/tasks/${task.id}/publish`, {});
        toast(publish ? "任务已发布" : "草稿已保存");
        go(`#/task?id=${task.id}`);
      } catch (failure) {
        mount(error, failure.message);
        error.hidden = false;
      } finally {
        for (const button of form.querySelectorAll("button")) button.disabled = false;
      }
    });
    mount(view, h("h2", {}, request ? "由求助生成任务" : "新建志愿任务"), form);
  },
};

// ---- one task ----------------------------------------------------------------------------

const TASK_ACTIONS = [
  {action: "publish", label: "发布", from: ["draft"], primary: true},
  {action: "start", label: "开始", from: ["published"]},
  {action: "complete", label: "完成", from: ["published", "in_progress"], confirm: "确认任务已完成？求助单将随之关闭。"},
  {action: "cancel", label: "取消任务", from: ["draft", "published", "in_progress"], danger: true},
];

function hoursBetween(a, b) {
  return a && b ? ((new Date(b) - new Date(a)) / 3600e3).toFixed(2) : "";
}

const taskPage = {
  title: "任务详情",
  async render(view, context) {
    const ctx = {...context, api: readableApi(context.api)};
    const {api, go, toast, params} = ctx;
    const id = Number(params.get("id"));
    const [task, participants, corrections] = await Promise.all([
      api.get(`/tasks/${id}`), api.all(`/tasks/${id}/participants`, {limit: 100}),
      api.all(`/tasks/${id}/correction-requests`, {limit: 100})]);
    const reload = () => go(`#/task?id=${id}`);
    const transition = async (button, {action, label, confirm: question}) => {
      if (action === "cancel") {
        const done = await dialogForm("取消任务", [h("p", {class: "muted"}, "已接单和候补的志愿者会收到通知。"),
          field("取消原因", h("textarea", {name: "reason", maxlength: 200}))],
        ({reason}) => api.post(`/tasks/${id}/cancel`, reason ? {reason} : {}), {okLabel: "取消任务", danger: true});
        if (done) { toast("任务已取消"); reload(); }
        return;
      }
      if (question && !window.confirm(question)) return;
      const done = await act(button, toast, () => api.post(`/tasks/${id}/${action}`, {}));
      if (done) { toast(`已${label}`); reload(); }
    };
    const edit = async () => {
      const done = await dialogForm("编辑任务", [
        field("任务标题", h("input", {name: "title", required: true, maxlength: 100, value: task.title})),
        field("任务说明", h("textarea", {name: "description", maxlength: 2000, value: task.description})),
        field("地点", h("input", {name: "address", maxlength: 200, value: task.address})),
        h("div", {class: "two"},
          field("开始时间", h("input", {name: "starts_at", type: "datetime-local", required: true, value: localInput(new Date(task.starts_at))})),
          field("结束时间", h("input", {name: "ends_at", type: "datetime-local", required: true, value: localInput(new Date(task.ends_at))}))),
        field(`名额（不少于已接单的 ${task.places_taken} 人）`, h("input", {name: "places", type: "number", required: true,
          min: Math.max(1, task.places_taken), max: 10000, value: task.places}))],
      (values) => api.patch(`/tasks/${id}`, {title: values.title, description: values.description || "", address: values.address || "",
        starts_at: fromLocalInput(values.starts_at), ends_at: fromLocalInput(values.ends_at), places: Number(values.places)}),
      {okLabel: "保存"});
      if (done) { toast("任务已更新"); reload(); }
    };
    const actions = TASK_ACTIONS.filter((a) => a.from.includes(task.state)).map((a) => {
      const button = h("button", {class: a.primary ? "primary" : a.danger ? "danger" : null, "data-action": a.action,
        onclick: () => transition(button, a)}, a.label);
      return button;
    });
    if (["draft", "published"].includes(task.state)) actions.unshift(h("button", {"data-action": "edit", onclick: edit}, "编辑"));
    const requestLink = task.help_request_id ? h("span", {}, `来自求助 #${task.help_request_id}（由求助群众确认评价）`) : "社区发布（由组织者确认）";
    const code = ["published", "in_progress"].includes(task.state) ? codeCard(api, id) : null;
    mount(view,
      h("div", {class: "spread"}, h("h2", {}, task.title, " ", tag(TASK_STATES, task.state)), h("div", {class: "actions"}, actions)),
      h("div", {class: "card"},
        h("div", {class: "cards", style: "margin:0"},
          figure("名额", `${task.places_taken} / ${task.places}`), figure("剩余", task.places_left),
          figure("每人计时上限", `${task.hours_credited} 小时`), figure("签到半径", `${task.radius_m} 米`)),
        h("p", {}, h("b", {}, "时间："), period(task.starts_at, task.ends_at)),
        h("p", {}, h("b", {}, "地点："), task.address || "（未填写）", h("span", {class: "muted"}, `  ${task.location.lat.toFixed(5)}, ${task.location.lng.toFixed(5)}`)),
        h("p", {}, h("b", {}, "社区："), task.community.name, "　", h("b", {}, "类别："), CATEGORIES[task.category] || task.category, "　", requestLink),
        task.description ? h("p", {}, h("b", {}, "说明："), task.description) : null,
        task.required_skills.length ? h("p", {}, h("b", {}, "所需技能："), task.required_skills.join("、")) : null,
        task.members_only ? h("p", {}, h("span", {class: "tag red"}, "仅限党员")) : null,
        task.cancel_reason ? h("p", {class: "muted"}, `取消原因：${task.cancel_reason}`) : null),
      code,
      h("h3", {style: "margin:16px 0 8px"}, `参与志愿者（${participants.length}）`),
      participantsTable(ctx, task, participants, reload),
      h("h3", {style: "margin:16px 0 8px"}, "时长更正申请"),
      correctionsTable(ctx, participants, corrections, reload));
  },
};

function figure(name, value) {
  return h("div", {class: "figure"}, h("div", {class: "value"}, String(value)), h("div", {class: "name"}, name));
}

/** The rotating on-site code: the QR image, fetched again before it expires (while the page shows it). */
function codeCard(api, taskId) {
  const img = h("img", {alt: "任务签到码", width: 200, height: 200, style: "display:block"});
  const note = h("p", {class: "muted"});
  const card = h("div", {class: "card row", id: "task-code", style: "align-items:flex-start;gap:20px"},
    h("div", {}, img), h("div", {}, h("h3", {}, "现场签到码"),
      h("p", {}, "志愿者用小程序扫描此码签到、签退（无需定位）。"), note));
  let previous = null;
  async function refresh() {
    if (previous !== null && !card.isConnected) return;
    try {
      const [info, url] = await Promise.all([api.get(`/tasks/${taskId}/code`), api.blobUrl(`/tasks/${taskId}/code.png`)]);
      if (previous) URL.revokeObjectURL(previous);
      previous = url;
      img.src = url;
      img.dataset.qrText = info.qr_text;
      mount(note, `每 30 秒更换，本码有效至 ${fmtTime(info.expires_at)}。`);
      setTimeout(refresh, Math.max(1, info.refresh_in) * 1000);
    } catch (error) {
      mount(note, error.message);
    }
  }
  refresh();
  return card;
}

function participantsTable({api, toast}, task, participants, reload) {
  const confirmable = !task.help_request_id;
  const setTimes = async (p) => {
    const start = p.checked_in_at ? new Date(p.checked_in_at) : new Date(task.starts_at);
    const end = p.checked_out_at ? new Date(p.checked_out_at) : new Date(task.ends_at);
    const done = await dialogForm(`补录服务时间 · 志愿者 #${p.user_id}`, [
      h("p", {class: "muted"}, "记录实际到场和离开的时间（确认后按此计算时长）。"),
      field("签到时间", h("input", {type: "datetime-local", name: "checked_in_at", required: true, value: localInput(start)})),
      field("签退时间", h("input", {type: "datetime-local", name: "checked_out_at", required: true, value: localInput(end)}))],
    (values) => api.post(`/participations/${p.id}/set-times`, {
      checked_in_at: fromLocalInput(values.checked_in_at), checked_out_at: fromLocalInput(values.checked_out_at)}));
    if (done) { toast("时间已补录"); reload(); }
  };
  const confirm = async (p) => {
    const done = await dialogForm(`确认并评价 · 志愿者 #${p.user_id}`, [
      field("评分", h("select", {name: "score"}, [5, 4, 3, 2, 1].map((n) => h("option", {value: n}, "★".repeat(n))))),
      field("评价", h("textarea", {name: "comment", maxlength: 200}))],
    (values) => api.post(`/participations/${p.id}/confirm`, {score: Number(values.score), comment: values.comment || ""}));
    if (done) { toast("已确认，时长已计入"); reload(); }
  };
  const correct = async (p) => {
    const done = await dialogForm(`更正时长 · 志愿者 #${p.user_id}`, [
      h("p", {class: "muted"}, "填写该次服务更正后的总时长；原记录保留，另记一笔更正。"),
      field("更正后时长（小时）", h("input", {type: "number", name: "hours", min: 0, max: 24, step: "0.25", required: true})),
      field("原因", h("textarea", {name: "reason", required: true, maxlength: 200}))],
    (values) => api.post(`/participations/${p.id}/corrections`, {hours: Number(values.hours), reason: values.reason}));
    if (done) { toast("时长已更正"); reload(); }
  };
  const noShow = async (button, p) => {
    if (!window.confirm(`将志愿者 #${p.user_id} 标记为未到场？`)) return;
    if (await act(button, toast, () => api.post(`/participations/${p.id}/no-show`, {}))) { toast("已标记未到场"); reload(); }
  };
  return table([
    {label: "志愿者", cell: (p) => `#${p.user_id}`},
    {label: "状态", cell: (p) => [tag(PARTICIPATION_STATES, p.state), p.needs_review ? h("span", {class: "tag bad"}, "待补录时间") : null]},
    {label: "接单", cell: (p) => fmtTime(p.accepted_at)},
    {label: "签到", cell: (p) => fmtTime(p.checked_in_at)},
    {label: "签退", cell: (p) => fmtTime(p.checked_out_at)},
    {label: "到场时长（小时）", cell: (p) => hoursBetween(p.checked_in_at, p.checked_out_at)},
    {label: "评价", cell: (p) => p.score ? [`${"★".repeat(p.score)}`, p.comment ? h("div", {class: "muted"}, p.comment) : null] : ""},
    {label: "操作", cell: (p) => {
      const buttons = [];
      if (p.state === "accepted") {
        const button = h("button", {"data-action": "no-show", onclick: () => noShow(button, p)}, "未到场");
        buttons.push(button);
      }
      if (["checked_in", "checked_out"].includes(p.state)) buttons.push(h("button", {"data-action": "set-times", onclick: () => setTimes(p)}, "补录时间"));
      if (p.state === "checked_out" && confirmable) buttons.push(h("button", {class: "primary", "data-action": "confirm", onclick: () => confirm(p)}, "确认"));
      if (p.state === "checked_out" && !confirmable && !p.needs_review) buttons.push(h("span", {class: "muted"}, "待群众确认"));
      if (p.state === "confirmed") buttons.push(h("button", {"data-action": "correct", onclick: () => correct(p)}, "更正时长"));
      return h("div", {class: "actions"}, buttons);
    }},
  ], participants, {empty: "还没有志愿者接单", attrs: {"aria-label": "参与志愿者"}});
}

function correctionsTable({api, toast}, participants, corrections, reload) {
  const apply = async (request) => {
    const done = await dialogForm(`采纳更正申请 #${request.id}`, [
      field("更正后时长（小时）", h("input", {type: "number", name: "hours", min: 0, max: 24, step: "0.25", required: true, value: request.requested_hours})),
      field("原因", h("textarea", {name: "reason", required: true, maxlength: 200, value: request.reason}))],
    (values) => api.post(`/participations/${request.participation_id}/corrections`,
      {hours: Number(values.hours), reason: values.reason, request_id: request.id}), {okLabel: "采纳"});
    if (done) { toast("已采纳"); reload(); }
  };
  const reject = async (button, request) => {
    if (await act(button, toast, () => api.post(`/correction-requests/${request.id}/reject`, {}))) { toast("已驳回"); reload(); }
  };
  return table([
    {label: "志愿者", cell: (r) => `#${r.user_id}`},
    {label: "申请时长（小时）", cell: (r) => String(r.requested_hours)},
    {label: "原因", cell: (r) => r.reason},
    {label: "提交时间", cell: (r) => fmtTime(r.created_at)},
    {label: "状态", cell: (r) => tag(CORRECTION_STATES, r.state)},
    {label: "操作", cell: (r) => {
      if (r.state !== "pending") return "";
      const no = h("button", {class: "danger", onclick: () => reject(no, r)}, "驳回");
      return h("div", {class: "actions"}, h("button", {class: "primary", onclick: () => apply(r)}, "采纳"), no);
    }},
  ], corrections, {empty: "没有更正申请"});
}

export const routes = {
  "/help-requests": helpRequests,
  "/tasks": tasks,
  "/tasks/new": newTask,
  "/task": taskPage,
};
export const nav = [
  {group: "志愿服务", label: "群众求助", href: "#/help-requests", roles: ["district_admin", "org_admin"]},
  {group: "志愿服务", label: "志愿任务", href: "#/tasks", roles: ["district_admin", "org_admin"]},
];
