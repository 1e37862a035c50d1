// Grid events for grid, building and lane leaders: report what they see (with
// photos and the place), follow their events through the lifecycle, comment,
// and take the steps the lifecycle leaves to them (confirm, verify, ...).
import {fmtTime, h, mount, toast} from "/static/faces/dom.js";
import {sheet} from "../../wx.js";
import {coordinate, errorBox, idempotencyKey, locate, pagedList} from "../resident/common.js";
import {subscribePrompt} from "../subscribe.js";

export const STATES = {
  unverified: ["待核实", "warn"], reported: ["已上报", "red"], accepted: ["已受理", "red"],
  dispatched: ["已派遣", "red"], in_progress: ["处置中", "red"], resolved: ["待核查", "warn"],
  closed: ["已结案", "ok"], rejected: ["不予受理", "bad"], duplicate: ["重复事件", ""],
};
const URGENCY = {normal: "一般", urgent: "紧急"};
const LIGHTS = {green: ["绿灯", "ok", "时限内"], yellow: ["黄灯", "warn", "即将超时"], red: ["红灯", "bad", "已超时"]};
const STEPS = {accept: "受理", handle: "处置", verify: "核查"};
export const ACTIONS = {
  report: "上报", confirm: "核实", accept: "受理", reject: "不予受理", duplicate: "标为重复",
  handle_self: "自行处置", dispatch: "派遣", take: "接收处置", return: "退回", extend: "申请延期",
  approve_extension: "批准延期", resolve: "处置完成", verify_ok: "核查通过", verify_fail: "核查不通过",
  reopen: "重新打开", escalate: "上报上级（吹哨）",
};
const ROLES = {
  district_admin: "区委管理员", org_admin: "组织管理员", grid_leader: "网格长", building_leader: "楼栋长",
  lane_leader: "街巷长", member: "党员", resident: "群众", reporter: "上报人", handler: "处置人",
  owner: "责任单位", lead: "网格负责人", verifier: "核查人", dispatcher: "派遣人",
};
// what each action asks for, beyond an optional note
const NEEDS = {
  reject: ["reason"], return: ["reason"], verify_fail: ["reason"], escalate: ["reason"],
  extend: ["hours"], duplicate: ["duplicate_of"], dispatch: ["to_org_id"], resolve: ["photos"],
};
const MAX_PHOTOS = 9;

let categoryNames = null;
async function categories(api) {
  categoryNames ??= api.all("/grid-event-categories", {limit: 100}).catch((error) => { categoryNames = null; throw error; });
  return categoryNames;
}
async function categoryName(api, code) {
  const found = (await categories(api)).find((category) => category.code === code);
  return found ? found.name : code;
}

function stateTag(state) {
  const [text, kind] = STATES[state] || [state, ""];
  return h("span", {class: ["tag", kind], "data-state": state}, text);
}

function lightTag(light) {
  if (!light) return null;
  const [name, kind, meaning] = LIGHTS[light];
  return h("span", {class: ["tag", kind], "data-light": light}, `● ${name} · ${meaning}`);
}

/** A file input that uploads each chosen photo (POST /uploads) and shows it; `.ids()` the uploaded ones. */
export function photoPicker(api, {name = "photos"} = {}) {
  const uploaded = [];
  const thumbs = h("div", {class: "photos"});
  const note = h("p", {class: "muted"}, `最多 ${MAX_PHOTOS} 张，上传时会去除照片中的位置信息。`);
  let pending = 0;
  const input = h("input", {type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true,
                            name, "data-photos": true, onchange: async () => {
    const files = [...input.files].slice(0, MAX_PHOTOS - uploaded.length - pending);
    input.value = "";
    await Promise.all(files.map(async (file) => {
      const preview = h("img", {src: URL.createObjectURL(file), alt: file.name, class: "uploading"});
      thumbs.append(preview);
      pending += 1;
      box.dataset.pending = pending;
      try {
        const form = new FormData();
        form.append("file", file);
        const saved = await api.upload("/uploads", form);
        uploaded.push(saved.id);
        preview.classList.remove("uploading");
        preview.dataset.upload = saved.id;
      } catch (error) {
        preview.remove();
        toast(`${file.name}：${error.message}`, {kind: "error"});
      } finally {
        pending -= 1;
        box.dataset.pending = pending;
        box.dataset.uploaded = uploaded.length;
      }
    }));
  }});
  const box = h("div", {class: "photo-picker", "data-pending": 0, "data-uploaded": 0},
    h("label", {class: "button", style: "display:inline-block"}, "＋ 选择照片", input), thumbs, note);
  box.ids = () => [...uploaded];
  box.busy = () => pending > 0;
  return box;
}

const report = {
  title: "上报网格事件",
  async render(view, {api, go}) {
    const [kinds, position] = await Promise.all([categories(api), locate()]);
    let located = position;
    const where = h("span", {class: "muted", "data-located": String(Boolean(position))});
    const showWhere = () => {
      where.textContent = located ? `已定位：${located.latitude.toFixed(5)}, ${located.longitude.toFixed(5)}`
        : "未能获取位置，请重新定位或在“我的”里手动设置";
      where.dataset.located = String(Boolean(located));
    };
    showWhere();
    const photos = photoPicker(api);
    const message = h("div", {});
    const key = idempotencyKey();
    const form = h("form", {"data-event-form": true, onsubmit: async (event) => {
      event.preventDefault();
      mount(message);
      if (!located) { mount(message, errorBox(new Error("需要事件位置：请点“重新定位”"))); return; }
      if (photos.busy()) { mount(message, errorBox(new Error("照片还在上传，请稍候"))); return; }
      const values = Object.fromEntries(new FormData(form).entries());
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const body = {
          category: values.category, urgency: values.urgency, title: values.title.trim(),
          description: values.description.trim(), location: coordinate(located), photo_ids: photos.ids(),
        };
        const answer = await api.post("/grid-events", body, key(body));
        toast("事件已上报");
        if (!answer.possible_duplicates.length) { go(`#/grid-event?id=${answer.event.id}`); return; }
        mount(view,
          h("div", {class: "result ok", role: "status"}, "事件已上报"),
          h("div", {class: "card"}, h("strong", {}, "附近 7 天内有相似的事件"),
            h("p", {class: "muted"}, "如果是同一件事，社区可能会把它们合并处理。"),
            ...answer.possible_duplicates.map(eventItem)),
          h("a", {class: "button primary full", href: `#/grid-event?id=${answer.event.id}`, style: "text-align:center"}, "查看我刚上报的事件"));
      } catch (error) {
        mount(message, errorBox(error));
        submit.disabled = false;
      }
    }},
      h("label", {for: "event-category"}, "事件类别"),
      h("select", {id: "event-category", name: "category", required: true},
        ...kinds.filter((kind) => kind.active).map((kind) => h("option", {value: kind.code}, kind.name))),
      h("label", {}, "紧急程度"),
      h("div", {class: "row"}, ...Object.entries(URGENCY).map(([code, label]) =>
        h("label", {class: "choice"}, h("input", {type: "radio", name: "urgency", value: code, checked: code === "normal" || null}), label))),
      h("label", {for: "event-title"}, "标题"),
      h("input", {id: "event-title", name: "title", required: true, maxlength: 100, placeholder: "例如：3 栋楼道灯不亮"}),
      h("label", {for: "event-description"}, "情况描述"),
      h("textarea", {id: "event-description", name: "description", maxlength: 2000, placeholder: "发生了什么、在哪个位置、影响了谁"}),
      h("label", {}, "位置"),
      h("div", {class: "spread"}, where, h("button", {type: "button", onclick: async () => { located = await locate(8000); showWhere(); }}, "重新定位")),
      h("label", {}, "现场照片"),
      photos,
      message,
      h("button", {type: "submit", class: "primary full", style: "margin-top:12px"}, "上报"));
    mount(view, h("div", {class: "card"}, form));
  },
};

function eventItem(event) {
  return h("a", {class: "list-item", href: `#/grid-event?id=${event.id}`, "data-event": event.id},
    h("div", {class: "spread"}, h("strong", {class: "clamp"}, event.title), stateTag(event.state)),
    h("div", {class: "row"},
      event.urgency === "urgent" ? h("span", {class: "tag bad"}, "紧急") : null,
      lightTag(event.light),
      h("span", {class: "muted"}, fmtTime(event.created_at))));
}

const TABS = [["mine", "我上报的", {mine: true}], ["grid", "我的网格", {}], ["assigned", "派给我的", {assigned: true}]];

const list = {
  title: "网格事件",
  async render(view, {api, params}) {
    const tab = TABS.find(([key]) => key === params.get("tab")) || TABS[0];
    const items = h("div", {});
    mount(view,
      h("a", {class: "button primary full", href: "#/grid-events/new", style: "text-align:center"}, "＋ 上报事件"),
      h("nav", {class: "segmented"}, ...TABS.map(([key, label]) =>
        h("a", {href: `#/grid-events?tab=${key}`, class: key === tab[0] ? "active" : "", "data-tab-events": key}, label))),
      items);
    await pagedList(items, {
      load: (cursor) => api.get("/grid-events", {...tab[2], limit: 20, cursor}),
      item: eventItem,
      empty: tab[0] === "mine" ? "您还没有上报过事件" : "没有事件",
    });
  },
};

/** The API's refusal of a step, with the state named in Chinese when it is about the state. */
function stepRefused(error, action) {
  const state = error.details?.state;
  if ((error.code === "action_not_allowed" || error.code === "state_changed") && STATES[state]) {
    return new Error(`事件已是“${STATES[state][0]}”状态，不能再“${ACTIONS[action] || action}”。请关闭后刷新查看最新进展。`);
  }
  return error;
}

function actionSheet(api, event, action) {
  return sheet(ACTIONS[action] || action, (close) => {
    const needs = NEEDS[action] || [];
    const fields = h("div", {});
    const photos = needs.includes("photos") ? photoPicker(api) : null;
    if (needs.includes("reason")) fields.append(h("label", {}, "原因（必填）"), h("textarea", {name: "reason", required: true, maxlength: 500}));
    if (needs.includes("hours")) fields.append(h("label", {}, "延期小时数"), h("input", {name: "hours", type: "number", min: 0.5, step: 0.5, required: true}));
    if (needs.includes("duplicate_of")) fields.append(h("label", {}, "与哪个事件重复（编号）"), h("input", {name: "duplicate_of", type: "number", min: 1, required: true}));
    if (needs.includes("to_org_id")) fields.append(h("label", {}, "派遣给组织（编号）"), h("input", {name: "to_org_id", type: "number", min: 1, required: true}));
    if (photos) fields.append(h("label", {}, "处置后照片"), photos);
    fields.append(h("label", {}, "说明（可不填）"), h("textarea", {name: "note", maxlength: 1000}));
    const message = h("div", {});
    const key = idempotencyKey();
    const form = h("form", {"data-action-form": action, onsubmit: async (submitted) => {
      submitted.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      const body = {action, note: (values.note || "").trim()};
      if (values.reason) body.reason = values.reason.trim();
      if (values.hours) body.hours = Number(values.hours);
      if (values.duplicate_of) body.duplicate_of = Number(values.duplicate_of);
      if (values.to_org_id) body.to_org_id = Number(values.to_org_id);
      if (photos) body.photo_ids = photos.ids();
      try {
        close(await api.post(`/grid-events/${event.id}/transitions`, body, key(body)));
      } catch (error) {
        mount(message, errorBox(stepRefused(error, action)));
      }
    }}, fields, message, h("div", {class: "row", style: "margin-top:12px;justify-content:flex-end"},
      h("button", {type: "button", onclick: () => close(null)}, "取消"),
      h("button", {type: "submit", class: "primary"}, "确定")));
    return form;
  });
}

function timelineView(timeline) {
  const entries = [
    ...timeline.transitions.map((step) => ({at: step.created_at, id: `t${step.id}`, node: h("li", {"data-step": step.action},
      h("div", {class: "spread"},
        h("strong", {}, ACTIONS[step.action] || step.action),
        step.in_time === true ? h("span", {class: "tag ok"}, "按时") : step.in_time === false ? h("span", {class: "tag bad"}, "超时") : null),
      h("div", {class: "muted"}, `${fmtTime(step.created_at)} · ${ROLES[step.actor_role] || step.actor_role || ""}`,
        step.to_state ? ` · ${(STATES[step.from_state] || [step.from_state || "—"])[0]} → ${(STATES[step.to_state] || [step.to_state])[0]}` : ""),
      step.data?.reason ? h("div", {}, `原因：${step.data.reason}`) : null,
      step.note ? h("div", {}, step.note) : null)})),
    ...timeline.comments.map((comment) => ({at: comment.created_at, id: `c${comment.id}`, node: h("li", {class: "comment", "data-comment": comment.id},
      h("div", {class: "muted"}, `${fmtTime(comment.created_at)} · 评论`), h("div", {}, comment.body))})),
  ].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
  return h("ol", {class: "timeline", "data-timeline": true}, ...entries.map((entry) => entry.node));
}

const detail = {
  title: "事件详情",
  async render(view, ctx) {
    const {api, params} = ctx;
    const id = Number(params.get("id"));
    if (!id) { mount(view, h("p", {class: "empty"}, "缺少事件编号")); return; }
    const me = await ctx.me();
    const [event, timeline] = await Promise.all([api.get(`/grid-events/${id}`), api.get(`/grid-events/${id}/timeline`)]);
    const category = await categoryName(api, event.category);
    const refresh = () => detail.render(view, ctx);
    const photos = h("div", {class: "photos", "data-event-photos": true});
    for (const photo of event.photos) {
      const img = h("img", {alt: photo.stage === "resolve" ? "处置照片" : "现场照片", "data-photo": photo.upload_id});
      // not passed by WeChat's content check yet: only its uploader (and admins) see it
      photos.append(photo.check_state === "pass" ? img
        : h("figure", {class: "checking", "data-check-state": photo.check_state}, img, h("figcaption", {}, "审核中")));
      api.blobUrl(photo.url).then((url) => { img.src = url; }).catch(() => img.remove());
    }
    const comment = h("textarea", {name: "body", required: true, maxlength: 1000, placeholder: "补充情况或催办"});
    const commentMessage = h("div", {});
    const commentKey = idempotencyKey();
    const open = !["closed", "rejected", "duplicate"].includes(event.state);
    mount(view,
      h("div", {class: "card", "data-event": event.id},
        h("div", {class: "spread"}, h("strong", {class: "big-title"}, event.title), stateTag(event.state)),
        h("div", {class: "row", style: "margin:6px 0"},
          h("span", {class: "tag"}, category),
          h("span", {class: event.urgency === "urgent" ? "tag bad" : "tag"}, URGENCY[event.urgency] || event.urgency),
          lightTag(event.light)),
        event.step && event.deadline_at ? h("p", {class: "muted", "data-deadline": true},
          `${STEPS[event.step] || event.step}时限：${fmtTime(event.deadline_at)} 前`) : null,
        event.description ? h("p", {}, event.description) : null,
        h("dl", {class: "facts"},
          h("dt", {}, "责任单位"), h("dd", {}, event.owner?.name || event.community?.name || ""),
          h("dt", {}, "位置"), h("dd", {}, `${event.location.lat.toFixed(5)}, ${event.location.lng.toFixed(5)}`),
          h("dt", {}, "上报"), h("dd", {}, `${fmtTime(event.created_at)} · ${ROLES[event.reporter_role] || event.reporter_role}`),
          event.followers ? [h("dt", {}, "关注"), h("dd", {}, `${event.followers} 人`)] : null,
          event.rework_count ? [h("dt", {}, "返工"), h("dd", {}, `${event.rework_count} 次`)] : null,
          event.pending_extension_hours ? [h("dt", {}, "延期申请"), h("dd", {}, `${event.pending_extension_hours} 小时待批准`)] : null),
        event.photos.length ? photos : null),
      open && event.reporter_id === me.user.id
        ? subscribePrompt(ctx, ["grid_event_closed"], "事件办结时，用微信通知您？") : null,
      open && event.assignee_user_id === me.user.id
        ? subscribePrompt(ctx, ["grid_event_overdue", "grid_event_returned", "grid_event_dispatched"],
          "事件超时、被退回或再派给您时，用微信通知您？") : null,
      event.allowed_actions.length ? h("div", {class: "card"}, h("strong", {}, "您可以"),
        h("div", {class: "row", style: "margin-top:8px"}, ...event.allowed_actions.map((action) =>
          h("button", {class: ["reject", "verify_fail", "return"].includes(action) ? "danger"
                         : ["reopen", "escalate", "duplicate", "extend"].includes(action) ? "" : "primary",
                       "data-action": action, onclick: async () => {
            const changed = await actionSheet(api, event, action);
            if (changed) { toast(`已${ACTIONS[action] || action}`); refresh(); }
          }}, ACTIONS[action] || action)))) : null,
      open && event.reporter_id !== me.user.id ? h("button", {class: "full", "data-follow": true, onclick: async (click) => {
        click.target.disabled = true;
        try {
          await api.post(`/grid-events/${id}/follow`, {note: ""});
          toast("已关注，事件有进展时可在此查看");
          refresh();
        } catch (error) {
          toast(error.message, {kind: "error"});
          click.target.disabled = false;
        }
      }}, "我也遇到了（关注）") : null,
      h("p", {class: "section-title"}, "处理过程"),
      h("div", {class: "card"}, timelineView(timeline)),
      h("form", {class: "card", "data-comment-form": true, onsubmit: async (submitted) => {
        submitted.preventDefault();
        try {
          const body = {body: comment.value.trim()};
          await api.post(`/grid-events/${id}/comments`, body, commentKey(body));
          toast("已评论");
          refresh();
        } catch (error) {
          mount(commentMessage, errorBox(error));
        }
      }}, h("label", {}, "评论"), comment, commentMessage,
        h("button", {type: "submit", class: "primary full", style: "margin-top:8px"}, "发表评论")));
  },
};

export const routes = {"/grid-events/new": report, "/grid-events": list, "/grid-event": detail};
