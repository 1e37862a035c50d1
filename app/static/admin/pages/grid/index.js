// Grid events in the console: a dispatch board of the scope's open events by
// state (traffic light, overdue first), and an event's page with its details,
// photos, timeline, comments and a button for every action the user may take.
import {fmtTime, h, mount} from "/static/faces/dom.js";
import {dialogForm, field, scopeOrgs} from "../dashboard/ui.js";
import {ACTIONS, EVENT_STATES, LIGHTS, OPEN_STATES, ORG_KINDS, ROLES, STEPS} from "./labels.js";

const LIGHT_ORDER = {red: 0, yellow: 1, green: 2};
let categoryNames = null;
async function categories(api) {
  categoryNames ??= api.all("/grid-event-categories", {limit: 100}).then((list) => Object.fromEntries(list.map((c) => [c.code, c.name])));
  return categoryNames;
}

/** "剩余 3 小时" / "超时 2 小时 10 分" from a deadline. */
function left(deadline) {
  if (!deadline) return "";
  const ms = new Date(deadline) - Date.now();
  const minutes = Math.round(Math.abs(ms) / 60000);
  const text = minutes >= 1440 ? `${Math.floor(minutes / 1440)} 天 ${Math.floor((minutes % 1440) / 60)} 小时`
    : minutes >= 60 ? `${Math.floor(minutes / 60)} 小时 ${minutes % 60} 分` : `${minutes} 分钟`;
  return ms >= 0 ? `剩余 ${text}` : `超时 ${text}`;
}

const light = (event) => event.light
  ? h("span", {class: ["light", event.light], title: LIGHTS[event.light], "aria-label": LIGHTS[event.light], "data-light": event.light}) : null;

/** Overdue (red) first, then yellow, then green; within a light, the nearest deadline first. */
export function byUrgency(a, b) {
  const la = LIGHT_ORDER[a.light] ?? 3, lb = LIGHT_ORDER[b.light] ?? 3;
  if (la !== lb) return la - lb;
  return (a.deadline_at ? new Date(a.deadline_at) : Infinity) - (b.deadline_at ? new Date(b.deadline_at) : Infinity);
}

// ---- the board ---------------------------------------------------------------------------

const board = {
  title: "事件调度",
  async render(view, ctx) {
    const {api} = ctx;
    const names = await categories(api);
    const columns = await Promise.all([...OPEN_STATES, "closed"].map(async (state) => {
      const page = await api.get("/grid-events", {state, limit: 100});
      return {state, events: state === "closed" ? page.items.slice(0, 10) : page.items.sort(byUrgency), more: Boolean(page.next_cursor)};
    }));
    const open = columns.filter((c) => c.state !== "closed").flatMap((c) => c.events);
    const overdue = open.filter((e) => e.light === "red").length;
    const soon = open.filter((e) => e.light === "yellow").length;
    mount(view,
      h("div", {class: "spread"}, h("h2", {}, "网格事件调度"),
        h("div", {class: "row"},
          h("span", {class: "tag"}, `在办 ${open.length}`),
          h("span", {class: "tag warn"}, `临期 ${soon}`),
          h("span", {class: "tag bad"}, `超时 ${overdue}`),
          h("button", {onclick: () => ctx.go(location.hash)}, "刷新"))),
      h("div", {class: "board grid-board"}, columns.map((column) =>
        h("section", {class: "column", "data-state": column.state, "aria-label": EVENT_STATES[column.state]},
          h("h3", {}, EVENT_STATES[column.state], h("span", {class: "muted"}, `  ${column.events.length}${column.more ? "+" : ""}`)),
          column.events.length ? column.events.map((event) => card(event, names, ctx))
            : h("p", {class: "muted", style: "text-align:center"}, column.state === "closed" ? "暂无" : "无")))));
  },
};

function card(event, names, ctx) {
  return h("article", {class: ["card", "event-card", event.light === "red" ? "overdue" : null], tabindex: 0,
    "data-event-id": event.id, role: "button", onclick: () => quick(event.id, ctx),
    onkeydown: (e) => { if (e.key === "Enter") quick(event.id, ctx); }},
  h("div", {class: "spread", style: "align-items:flex-start"},
    h("b", {class: "event-title"}, light(event), event.title),
    event.urgency === "urgent" ? h("span", {class: "tag bad"}, "紧急") : null),
  h("div", {class: "muted"}, `${names[event.category] || event.category} · ${event.community.name}`),
  event.deadline_at ? h("div", {class: ["muted", event.light === "red" ? "late" : null]},
    `${STEPS[event.step] || ""} · ${left(event.deadline_at)}`) : h("div", {class: "muted"}, fmtTime(event.closed_at || event.created_at)));
}

/** The board's quick view: the event's actions in a dialog, then the board again. */
async function quick(eventId, ctx) {
  const {api} = ctx;
  const event = await api.get(`/grid-events/${eventId}`).catch((error) => { ctx.toast(error.message, {kind: "error"}); return null; });
  if (!event) return;
  const names = await categories(api);
  const dialog = h("dialog", {class: "event-quick"},
    h("div", {class: "spread"}, h("h3", {}, light(event), event.title), h("span", {class: "tag"}, EVENT_STATES[event.state])),
    h("p", {class: "muted"}, `${names[event.category] || event.category} · ${event.community.name} · ${fmtTime(event.created_at)} 上报`),
    event.description ? h("p", {}, event.description) : null,
    event.deadline_at ? h("p", {}, `${STEPS[event.step] || ""}时限：${fmtTime(event.deadline_at)}（${left(event.deadline_at)}）`) : null,
    h("div", {class: "actions", style: "margin:10px 0"}, actionButtons(event, ctx, () => { dialog.close(); ctx.go(location.hash); })),
    h("div", {class: "row", style: "justify-content:space-between;margin-top:12px"},
      h("a", {href: `#/grid-event?id=${event.id}`, onclick: () => dialog.close()}, "查看详情、照片与时间线"),
      h("button", {onclick: () => dialog.close()}, "关闭")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// ---- actions ---------------------------------------------------------------------------

const note = () => field("备注", h("textarea", {name: "note", maxlength: 1000}));
const reason = (label = "原因") => field(label, h("textarea", {name: "reason", required: true, maxlength: 500}));

/** What each action asks for: the dialog's fields and the body they make. */
const FORMS = {
  reject: () => [reason("不予受理的原因")],
  duplicate: () => [field("重复于事件编号", h("input", {name: "duplicate_of", type: "number", min: 1, required: true})), note()],
  return: () => [reason("退回原因")],
  extend: () => [field("延期（小时）", h("input", {name: "hours", type: "number", min: 0.5, max: 1440, step: "0.5", required: true})), note()],
  verify_fail: () => [reason("核查不通过的原因")],
  escalate: () => [reason("提级原因")],
};

async function dispatchFields(api, event) {
  const [orgs, leaders] = await Promise.all([
    scopeOrgs(api).catch(() => []),
    api.all(`/grids/${event.grid_id}/leaders`, {limit: 100}).catch(() => [])]);
  const targets = orgs.filter((o) => o.kind !== "party_group").sort((a, b) => a.depth - b.depth || a.id - b.id);
  const kind = h("select", {name: "target", onchange: () => { orgField.hidden = kind.value !== "org"; userField.hidden = kind.value !== "user"; }},
    h("option", {value: "org"}, "派给组织（其管理员处置）"), h("option", {value: "user"}, "派给个人"));
  const orgField = field("处置组织", h("select", {name: "to_org_id"},
    targets.map((o) => h("option", {value: o.id, selected: o.id === event.community.id}, `${"　".repeat(Math.max(0, o.depth - (targets[0]?.depth || 0)))}${o.name}（${ORG_KINDS[o.kind] || o.kind}）`))));
  const userField = field("处置人", h("select", {name: "to_user_id"},
    leaders.map((l) => h("option", {value: l.user_id}, `${ROLES[l.role] || l.role} · 用户 #${l.user_id}${l.buildings.length ? `（${l.buildings.join("、")}）` : ""}`)),
    h("option", {value: ""}, "其他用户（填写编号）")));
  const otherUser = field("用户编号", h("input", {name: "other_user_id", type: "number", min: 1}));
  userField.hidden = true;
  userField.append(otherUser);
  return [field("派遣对象", kind), orgField, userField, note()];
}

function bodyOf(action, values) {
  const body = {action, note: values.note || ""};
  if (values.reason) body.reason = values.reason;
  if (values.hours) body.hours = Number(values.hours);
  if (values.duplicate_of) body.duplicate_of = Number(values.duplicate_of);
  if (action === "dispatch") {
    if (values.target === "user") body.to_user_id = Number(values.to_user_id || values.other_user_id);
    else body.to_org_id = Number(values.to_org_id);
  }
  return body;
}

async function resolveFields() {
  return [field("处置情况", h("textarea", {name: "note", required: true, maxlength: 1000})),
    field("处置照片（可多选，最多 9 张）", h("input", {type: "file", name: "photos", accept: "image/jpeg,image/png,image/webp", multiple: true}))];
}

/** The API names states and actions by their codes in its message; say them in Chinese. */
function readable(error) {
  const {state, action} = error.details || {};
  if (error.code === "action_not_allowed" && state) {
    error.message = `事件当前为“${EVENT_STATES[state] || state}”状态，不能执行“${ACTIONS[action] || action}”。请刷新页面查看最新状态。`;
  } else if (error.code === "state_changed" && state) {
    error.message = `事件刚刚已被他人处理（当前为“${EVENT_STATES[state] || state}”），请刷新页面查看最新状态。`;
  }
  return error;
}

/** A button for every action the API says the user may take now. */
function actionButtons(event, {api, toast}, done) {
  if (!event.allowed_actions.length) return [h("span", {class: "muted"}, "当前没有您可执行的操作。")];
  return event.allowed_actions.map((action) => {
    const danger = ["reject", "verify_fail", "return"].includes(action);
    const primary = ["accept", "dispatch", "verify_ok", "confirm", "take", "resolve"].includes(action);
    return h("button", {class: danger ? "danger" : primary ? "primary" : null, "data-action": action, onclick: async () => {
      const fields = action === "dispatch" ? await dispatchFields(api, event)
        : action === "resolve" ? await resolveFields() : (FORMS[action] || (() => [note()]))();
      const answer = await dialogForm(`${ACTIONS[action] || action} · ${event.title}`, fields, async (values, form) => {
        const body = bodyOf(action, values);
        if (action === "resolve") {
          const files = [...form.querySelector("input[name=photos]").files];
          body.photo_ids = [];
          for (const file of files) {
            const data = new FormData();
            data.append("file", file);
            body.photo_ids.push((await api.upload("/uploads", data)).id);
          }
        }
        return api.post(`/grid-events/${event.id}/transitions`, body).catch((error) => { throw readable(error); });
      }, {okLabel: ACTIONS[action] || "确定", danger});
      if (answer) { toast(`已${ACTIONS[action] || action}`); done(answer); }
    }}, ACTIONS[action] || action);
  });
}

// ---- one event -----------------------------------------------------------------------

const eventPage = {
  title: "事件详情",
  async render(view, ctx) {
    const {api, go, toast, params} = ctx;
    const id = Number(params.get("id"));
    const [event, timeline, names, orgs] = await Promise.all([
      api.get(`/grid-events/${id}`), api.get(`/grid-events/${id}/timeline`), categories(api), scopeOrgs(api).catch(() => [])]);
    const orgNames = new Map(orgs.map((o) => [o.id, o.name]));
    const orgName = (orgId) => orgNames.get(orgId) || `组织 #${orgId}`;
    const reload = () => go(`#/grid-event?id=${id}`);
    const photos = h("div", {class: "row photos"}, event.photos.length ? null : h("span", {class: "muted"}, "没有照片"));
    for (const photo of event.photos) {
      const img = h("img", {alt: `照片（${ACTIONS[photo.stage] || photo.stage}）`, "data-upload-id": photo.upload_id});
      // not passed by WeChat's content check yet: only the uploader and the admins see it
      const checking = photo.check_state !== "pass" ? " · 审核中" : "";
      photos.append(h("figure", {"data-check-state": photo.check_state},
        img, h("figcaption", {class: "muted"}, (ACTIONS[photo.stage] || photo.stage) + checking)));
      api.blobUrl(`/grid-events/${id}/photos/${photo.upload_id}`).then((url) => { img.src = url; })
        .catch((error) => { img.alt = error.message; });
    }
    const entries = [
      ...timeline.transitions.map((t) => ({at: t.created_at, node: (orgName) => transitionItem(t, orgName)})),
      ...timeline.comments.map((c) => ({at: c.created_at, node: () => h("li", {class: "comment"},
        h("div", {}, h("b", {}, `用户 #${c.user_id} 评论`), h("span", {class: "muted"}, `  ${fmtTime(c.created_at)}`)), h("div", {}, c.body))}))]
      .sort((a, b) => new Date(a.at) - new Date(b.at));
    const commentForm = h("form", {class: "row", style: "margin-top:10px;flex-wrap:nowrap"},
      h("input", {name: "body", required: true, maxlength: 1000, placeholder: "写评论……", "aria-label": "评论"}),
      h("button", {type: "submit", style: "flex:none"}, "评论"));
    commentForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = commentForm.querySelector("button");
      button.disabled = true;
      try {
        await api.post(`/grid-events/${id}/comments`, {body: commentForm.body.value.trim()});
        reload();
      } catch (error) {
        toast(error.message, {kind: "error"});
      } finally {
        button.disabled = false;
      }
    });
    const row = (label, value) => value === null || value === undefined || value === "" ? null
      : h("tr", {}, h("th", {}, label), h("td", {}, value));
    mount(view,
      h("div", {class: "spread"}, h("h2", {}, light(event), event.title, " ", h("span", {class: "tag", "data-state": event.state}, EVENT_STATES[event.state])),
        h("a", {href: "#/grid"}, "返回调度台")),
      h("div", {class: "actions", id: "event-actions", style: "margin-bottom:10px"}, actionButtons(event, ctx, reload)),
      h("div", {class: "two"},
        h("div", {class: "card"}, h("h3", {}, "事件信息"), h("table", {class: "details"}, h("tbody", {},
          row("编号", `#${event.id}`), row("类别", names[event.category] || event.category),
          row("紧急程度", event.urgency === "urgent" ? h("span", {class: "tag bad"}, "紧急") : "一般"),
          row("社区", event.community.name), row("当前负责层级", event.owner.name),
          row("上报人", `${ROLES[event.reporter_role] || event.reporter_role} · 用户 #${event.reporter_id}`),
          row("上报时间", fmtTime(event.created_at)),
          row("当前环节", event.step ? `${STEPS[event.step]}（时限 ${fmtTime(event.deadline_at)}，${left(event.deadline_at)}）` : null),
          row("处置对象", event.assignee_user_id ? `用户 #${event.assignee_user_id}` : event.assignee_org_id ? orgName(event.assignee_org_id) : null),
          row("待批延期", event.pending_extension_hours ? `${event.pending_extension_hours} 小时` : null),
          row("返工 / 提级 / 关注", `${event.rework_count} / ${event.escalations} / ${event.followers}`),
          row("位置", `${event.location.lat.toFixed(5)}, ${event.location.lng.toFixed(5)}`),
          row("结案时间", fmtTime(event.closed_at)),
          row("描述", event.description)))),
        h("div", {class: "card"}, h("h3", {}, "照片"), photos)),
      h("div", {class: "card"}, h("h3", {style: "margin-bottom:8px"}, "时间线"),
        h("ul", {class: "timeline", "aria-label": "时间线"}, entries.map((e) => e.node(orgName))), commentForm));
  },
};

function transitionItem(t, orgName) {
  const moved = t.from_state && t.from_state !== t.to_state ? `${EVENT_STATES[t.from_state]} → ${EVENT_STATES[t.to_state]}`
    : EVENT_STATES[t.to_state];
  const data = t.data || {};
  return h("li", {"data-action": t.action},
    h("div", {}, h("b", {}, ACTIONS[t.action] || t.action), `  ${ROLES[t.actor_role] || t.actor_role} · 用户 #${t.actor_id}`,
      h("span", {class: "muted"}, `  ${fmtTime(t.created_at)}`),
      t.in_time === true ? h("span", {class: "tag ok", style: "margin-left:6px"}, `${STEPS[t.step] || ""}按时`) : null,
      t.in_time === false ? h("span", {class: "tag bad", style: "margin-left:6px"}, `${STEPS[t.step] || ""}超时`) : null),
    h("div", {class: "muted"}, moved,
      data.to_org_id && t.action === "dispatch" ? `，派给${orgName(data.to_org_id)}` : null,
      data.to_org_id && t.action === "escalate" ? `，上报至${orgName(data.to_org_id)}` : null,
      data.to_user_id ? `，派给用户 #${data.to_user_id}` : null,
      data.hours ? `，${data.hours} 小时` : null,
      data.duplicate_of ? `，重复于 #${data.duplicate_of}` : null),
    data.reason ? h("div", {}, `原因：${data.reason}`) : null,
    t.note ? h("div", {}, t.note) : null);
}

export const routes = {"/grid": board, "/grid-event": eventPage};
export const nav = [{group: "网格治理", label: "事件调度", href: "#/grid", roles: ["district_admin", "org_admin"]}];
