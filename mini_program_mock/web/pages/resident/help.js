// 点单 and 评单: a resident asks for help, follows the request to the task it
// became, and confirms and rates each volunteer who served.
import {fmtTime, h, localInput, mount, toast} from "/static/faces/dom.js";
import {
  HELP_CATEGORIES, PARTICIPATION_STATES, REQUEST_STATES, TASK_STATES, confirmSheet, coordinate,
  errorBox, idempotencyKey, locate, pagedList, stars, stateTag,
} from "./common.js";
import {subscribePrompt} from "../subscribe.js";

/** The communities a resident may ask: the one they reported to, those of nearby service centers. */
async function communitiesFor(api, me, position) {
  const found = new Map();
  const report = me.community_report;
  if (report?.community && !report.ended_at && report.state !== "declined") {
    found.set(report.community.id, `${report.community.name}（我报到的社区）`);
  }
  for (const grant of me.roles) {
    if (grant.org?.kind === "community" && !found.has(grant.org.id)) found.set(grant.org.id, grant.org.name);
  }
  if (position) {
    const near = await api.get("/centers", {near: `${position.latitude},${position.longitude}`, radius_m: 5000, limit: 20});
    for (const center of near.items) {
      if (center.org?.kind === "community" && !found.has(center.org.id)) {
        found.set(center.org.id, `${center.org.name}（${center.name}，${center.distance_m ?? "?"} 米）`);
      }
    }
  }
  return found;
}

const ask = {
  title: "我要求助",
  async render(view, {api, me, go}) {
    const profile = await me();
    const position = await locate();
    const communities = await communitiesFor(api, profile, position);
    const start = new Date(Date.now() + 60 * 60 * 1000);
    start.setMinutes(0, 0, 0);
    const end = new Date(start.getTime() + 2 * 60 * 60 * 1000);
    let located = position;
    const where = h("p", {class: "muted", "data-located": String(Boolean(position))},
      position ? `已定位：${position.latitude.toFixed(5)}, ${position.longitude.toFixed(5)}` : "未能获取位置（可只填写地址）");
    const relocate = async () => {
      located = await locate(8000);
      where.textContent = located ? `已定位：${located.latitude.toFixed(5)}, ${located.longitude.toFixed(5)}` : "未能获取位置，请在“我的”里手动设置";
      where.dataset.located = String(Boolean(located));
    };
    const message = h("div", {});
    const key = idempotencyKey();
    const form = h("form", {"data-help-form": true, onsubmit: async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      mount(message);
      try {
        const body = {
          community_id: Number(values.community_id), category: values.category,
          description: values.description.trim(), address: values.address.trim(),
          location: coordinate(located),
          window_start: new Date(values.window_start).toISOString(),
          window_end: new Date(values.window_end).toISOString(),
          contact_phone: values.contact_phone.trim(),
        };
        const request = await api.post("/help-requests", body, key(body));
        toast("已提交，社区会尽快安排");
        go(`#/help-request?id=${request.id}`);
      } catch (error) {
        mount(message, errorBox(error));
        submit.disabled = false;
      }
    }},
      h("label", {for: "help-category"}, "需要什么帮助"),
      h("select", {id: "help-category", name: "category", required: true},
        ...Object.entries(HELP_CATEGORIES).map(([code, name]) => h("option", {value: code}, name))),
      h("label", {for: "help-description"}, "具体说明"),
      h("textarea", {id: "help-description", name: "description", required: true, maxlength: 1000,
                     placeholder: "例如：下周二上午陪老人去市人民医院复诊"}),
      h("label", {for: "help-community"}, "所在社区"),
      communities.size
        ? h("select", {id: "help-community", name: "community_id", required: true},
            ...[...communities].map(([id, name]) => h("option", {value: id}, name)))
        : h("p", {class: "result warn", role: "alert"}, "附近没有找到社区服务中心，暂时无法确定您的社区。请到社区附近再试，或在“我的”里设置位置。"),
      h("label", {for: "help-address"}, "地址"),
      h("input", {id: "help-address", name: "address", maxlength: 200, placeholder: "门牌号、楼栋、单元"}),
      h("div", {class: "spread"}, where, h("button", {type: "button", onclick: relocate}, "重新定位")),
      h("label", {for: "help-start"}, "希望开始时间"),
      h("input", {id: "help-start", name: "window_start", type: "datetime-local", required: true, value: localInput(start)}),
      h("label", {for: "help-end"}, "最晚结束时间"),
      h("input", {id: "help-end", name: "window_end", type: "datetime-local", required: true, value: localInput(end)}),
      h("label", {for: "help-phone"}, "联系电话（仅接单的志愿者可见完整号码）"),
      h("input", {id: "help-phone", name: "contact_phone", type: "tel", inputmode: "numeric", required: true,
                  maxlength: 20, placeholder: "手机号"}),
      message,
      h("button", {type: "submit", class: "primary full", style: "margin-top:12px", disabled: !communities.size || null}, "提交求助"));
    mount(view,
      h("div", {class: "card"}, h("p", {class: "muted"}, "群众点单 · 社区派单 · 党员接单 · 群众评单：提交后，社区会把您的求助派给志愿者。"), form),
      h("a", {class: "button full", href: "#/help-requests", style: "text-align:center"}, "我的求助"));
  },
};

function requestCard(request) {
  return h("a", {class: "list-item", href: `#/help-request?id=${request.id}`, "data-request": request.id},
    h("div", {class: "spread"}, h("strong", {}, HELP_CATEGORIES[request.category] || request.category),
      stateTag(REQUEST_STATES, request.state)),
    h("div", {class: "clamp"}, request.description),
    h("div", {class: "muted"}, `${fmtTime(request.window_start)} – ${fmtTime(request.window_end)} · ${request.community?.name || ""}`));
}

const mine = {
  title: "我的求助",
  async render(view, {api}) {
    const list = h("div", {});
    mount(view, h("a", {class: "button primary full", href: "#/help-requests/new", style: "text-align:center"}, "我要求助"), list);
    await pagedList(list, {
      load: (cursor) => api.get("/help-requests", {mine: true, limit: 20, cursor}),
      item: requestCard,
      empty: "您还没有提交过求助",
    });
  },
};

const STEPS = [["submitted", "点单"], ["dispatched", "派单"], ["served", "接单服务"], ["rated", "评单"]];

function progress(request, people) {
  const served = people.some((p) => ["checked_out", "confirmed"].includes(p.state));
  const rated = people.length > 0 && people.filter((p) => ["checked_out", "confirmed"].includes(p.state))
    .every((p) => p.state === "confirmed") && served;
  const reached = {submitted: true, dispatched: Boolean(request.task_id), served, rated};
  return h("ol", {class: "steps"}, ...STEPS.map(([key, label]) => h("li", {class: reached[key] ? "done" : ""}, label)));
}

function rateForm(api, participation, done) {
  const message = h("div", {});
  const score = stars(0, {onchange: () => mount(message)});
  const comment = h("input", {name: "comment", maxlength: 200, placeholder: "说说这次服务（可不填）"});
  const key = idempotencyKey();
  return h("form", {class: "rate", "data-rate": participation.id, onsubmit: async (event) => {
    event.preventDefault();
    if (!score.value) { mount(message, errorBox(new Error("请先点星星打分"))); return; }
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = {score: score.value, comment: comment.value.trim()};
      await api.post(`/participations/${participation.id}/confirm`, body, key(body));
      toast("已确认，志愿服务时长已记入");
      done();
    } catch (error) {
      mount(message, errorBox(error));
      button.disabled = false;
    }
  }}, score, comment, message,
    h("button", {type: "submit", class: "primary full", style: "margin-top:8px"}, "确认服务并评价"));
}

function volunteerCard(api, participation, refresh) {
  const name = participation.volunteer_name ? `党员志愿者 ${participation.volunteer_name}` : "志愿者";
  const times = [
    participation.checked_in_at ? `签到 ${fmtTime(participation.checked_in_at)}` : null,
    participation.checked_out_at ? `签退 ${fmtTime(participation.checked_out_at)}` : null,
  ].filter(Boolean).join(" · ");
  let body = null;
  if (participation.state === "checked_out" && participation.needs_review) {
    body = h("p", {class: "muted"}, "签退时间缺失，需组织者补录实际时间后才能确认。");
  } else if (participation.state === "checked_out") {
    body = rateForm(api, participation, refresh);
  } else if (participation.state === "confirmed") {
    body = h("div", {}, stars(participation.score || 0, {readonly: true}),
      participation.comment ? h("p", {}, participation.comment) : null,
      h("p", {class: "muted"}, `已于 ${fmtTime(participation.confirmed_at)} 确认`));
  }
  return h("div", {class: "card", "data-participation": participation.id},
    h("div", {class: "spread"}, h("strong", {}, name), stateTag(PARTICIPATION_STATES, participation.state)),
    times ? h("div", {class: "muted"}, times) : null,
    body);
}

async function taskCard(api, taskId) {
  try {
    const task = await api.get(`/tasks/${taskId}`);
    return h("div", {class: "card", "data-task": task.id},
      h("div", {class: "spread"}, h("strong", {}, task.title), stateTag(TASK_STATES, task.state)),
      h("div", {class: "muted"}, `${fmtTime(task.starts_at)} – ${fmtTime(task.ends_at)}`),
      task.address ? h("div", {class: "muted"}, task.address) : null,
      h("div", {class: "muted"}, `志愿者 ${task.places_taken}/${task.places} 人`),
      task.cancel_reason ? h("div", {class: "result bad"}, `任务已取消：${task.cancel_reason}`) : null);
  } catch (error) {
    if (error.status !== 404) throw error;
    // a draft is the community's until it is published
    return h("div", {class: "card", "data-task": taskId}, h("strong", {}, "社区已派单"),
      h("p", {class: "muted"}, "社区正在安排志愿服务任务，发布后志愿者即可接单。"));
  }
}

const detail = {
  title: "求助详情",
  async render(view, ctx) {
    const {api, params, go} = ctx;
    const id = Number(params.get("id"));
    if (!id) { mount(view, h("p", {class: "empty"}, "缺少求助编号")); return; }
    const request = await api.get(`/help-requests/${id}`);
    const people = request.task_id ? await api.all(`/help-requests/${id}/participations`, {limit: 100}) : [];
    const refresh = () => detail.render(view, ctx);
    const actions = h("div", {});
    if (request.state === "submitted") {
      actions.append(h("button", {class: "danger full", style: "margin-bottom:8px", "data-cancel": true, onclick: async () => {
        if (!await confirmSheet("撤回求助", "确定撤回这条求助吗？社区将不再处理。", {ok: "撤回", danger: true})) return;
        try {
          await api.post(`/help-requests/${id}/cancel`);
          toast("已撤回");
          refresh();
        } catch (error) {
          mount(actions, errorBox(error));
        }
      }}, "撤回求助"));
    }
    mount(view,
      progress(request, people),
      h("div", {class: "card", "data-request": request.id},
        h("div", {class: "spread"}, h("strong", {}, HELP_CATEGORIES[request.category] || request.category),
          stateTag(REQUEST_STATES, request.state)),
        h("p", {}, request.description),
        h("dl", {class: "facts"},
          h("dt", {}, "社区"), h("dd", {}, request.community?.name || ""),
          request.address ? [h("dt", {}, "地址"), h("dd", {}, request.address)] : null,
          h("dt", {}, "时间"), h("dd", {}, `${fmtTime(request.window_start)} – ${fmtTime(request.window_end)}`),
          h("dt", {}, "电话"), h("dd", {}, request.contact_phone),
          h("dt", {}, "提交于"), h("dd", {}, fmtTime(request.created_at))),
        request.state === "rejected" ? h("div", {class: "result bad"}, `社区未受理：${request.reject_reason || ""}`) : null,
        request.state === "submitted" ? h("p", {class: "muted"}, "社区受理后会派给志愿者，请留意消息。") : null),
      ["submitted", "dispatched"].includes(request.state) && request.requester_id === (await ctx.me()).user.id
        ? subscribePrompt(ctx, ["help_request_accepted", "help_request_completed"], "志愿者接单、服务完成时，用微信通知您？")
        : null,
      actions,
      request.task_id ? [h("p", {class: "section-title"}, "志愿服务任务"), await taskCard(api, request.task_id)] : null,
      request.task_id ? [h("p", {class: "section-title"}, "接单的志愿者"),
        people.length ? people.map((p) => volunteerCard(api, p, refresh))
          : h("p", {class: "empty"}, "还没有志愿者接单")] : null,
      h("button", {class: "full", onclick: () => go("#/help-requests")}, "返回我的求助"));
  },
};

export const routes = {"/help-requests/new": ask, "/help-requests": mine, "/help-request": detail};
