// Volunteer service (党员接单): tasks near me, accepting, the waitlist,
// on-site check-in/out by position or the organizer's code, my tasks, my hours.
import {fmtTime, h, mount} from "/static/faces/dom.js";
import {classify, scanned as scannedCode} from "../../scan.js";
import {action, apiLocation, codeSubject, communityChoices, communityPicker, pagedList, refusal} from "./common.js";
import {subscribePrompt} from "../subscribe.js";

export const CATEGORIES = {
  elderly_care: "助老", errands: "跑腿代办", repairs: "维修", tutoring: "辅导", medical_escort: "陪诊",
  other: "其他", community_service: "社区服务",
};
const TASK_STATES = {published: ["招募中", "ok"], in_progress: ["进行中", "warn"], completed: ["已完成", ""], cancelled: ["已取消", "bad"], draft: ["草稿", ""]};
export const PARTICIPATION = {
  waitlisted: ["候补中", "warn"], accepted: ["已接单", "ok"], withdrawn: ["已退出", ""], checked_in: ["已签到", "ok"],
  checked_out: ["已签退，待确认", "warn"], confirmed: ["已确认", "ok"], no_show: ["未到场", "bad"], cancelled: ["任务已取消", "bad"],
};

function tag([label, kind]) {
  return h("span", {class: `tag ${kind}`}, label);
}

function when(task) {
  return `${fmtTime(task.starts_at)} – ${fmtTime(task.ends_at)}`;
}

/** The user's participation in a task, from their task list (newest first). */
async function participationIn(api, taskId) {
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const answer = await api.get("/me/tasks", {limit: 100, cursor});
    const found = answer.items.find((p) => p.task_id === taskId);
    if (found) return found;
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return null;
}

async function myVolunteer(api) {
  try {
    return await api.get("/me/volunteer");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

function taskSummary(task) {
  return h("a", {class: "list-item", href: `#/volunteer/task?id=${task.id}`, "data-task": task.id},
    h("div", {class: "spread"}, h("strong", {}, task.title), tag(TASK_STATES[task.state] || [task.state, ""])),
    h("div", {class: "muted"}, [task.community?.name, CATEGORIES[task.category] || task.category].filter(Boolean).join(" · ")),
    h("div", {class: "muted"}, when(task)),
    h("div", {class: "row", style: "margin-top:4px"},
      h("span", {class: task.places_left > 0 ? "tag ok" : "tag warn"}, task.places_left > 0 ? `剩余 ${task.places_left}/${task.places} 个名额` : "名额已满，可候补"),
      task.distance_m !== undefined && task.distance_m !== null ? h("span", {class: "tag"}, `${task.distance_m} 米`) : null,
      task.members_only ? h("span", {class: "tag red"}, "仅限党员") : null));
}

export const nearbyTasks = {
  title: "附近的志愿任务",
  async render(view, {api, wx}) {
    let near = null;
    let note = null;
    try {
      const here = await wx.getLocation({type: "gcj02"});
      near = `${here.latitude},${here.longitude}`;
    } catch (error) {
      note = h("p", {class: "muted"}, `${error.message || "无法获取位置"}，以下按开始时间排列。`);
    }
    const list = pagedList({
      name: "tasks",
      empty: near ? "附近 10 公里内暂无可接的任务" : "暂无可接的任务",
      load: (cursor) => api.get("/tasks", {open: true, near, limit: 10, cursor}),
      item: taskSummary,
    });
    mount(view, note, h("div", {class: "row", style: "justify-content:flex-end"},
      h("a", {href: "#/volunteer/mine"}, "我的任务"), h("a", {href: "#/volunteer/record"}, "服务时长")), list.element);
    await list.ready;
  },
};

/** Check in or out of a task: by the phone's position, or with the organizer's scanned code. */
async function presence(api, wx, task, kind, {code = null, byScan = false} = {}) {
  let body;
  if (byScan || code) {
    let text = code;
    if (!text) {
      const answer = await wx.scanCode({scanType: ["qrCode"]});
      if (!answer) return null;
      text = (await scannedCode(api, answer)).text;  // a mini-program code: as the API resolved it
    }
    const scanned = classify(text);
    if (scanned.kind !== "task" || codeSubject(scanned.token) !== task.id) {
      throw Object.assign(new Error("这不是本任务的签到码，请扫描组织者出示的二维码。"), {code: "wrong_code"});
    }
    body = {code: text};
  } else {
    body = {location: await apiLocation(wx)};
  }
  return api.post(`/tasks/${task.id}/${kind}`, body);
}

function participationCard(p) {
  if (!p) return null;
  const facts = [];
  if (p.accepted_at) facts.push(`${p.state === "waitlisted" ? "候补" : "接单"} ${fmtTime(p.accepted_at)}`);
  if (p.checked_in_at) facts.push(`签到 ${fmtTime(p.checked_in_at)}`);
  if (p.checked_out_at) facts.push(`签退 ${fmtTime(p.checked_out_at)}`);
  return h("div", {class: "card", "data-participation": p.state},
    h("div", {class: "spread"}, h("strong", {}, "我的参与"), tag(PARTICIPATION[p.state] || [p.state, ""])),
    p.state === "waitlisted" ? h("p", {"data-waitlist": p.waitlist_position ?? true},
      p.waitlist_position ? h("strong", {}, `候补第 ${p.waitlist_position} 位。`) : null,
      "有人退出时，按候补先后顺序自动补位，并会通知您。") : null,
    facts.length ? h("div", {class: "muted"}, facts.join(" · ")) : null,
    p.needs_review ? h("p", {class: "muted"}, "签退时间缺失，等待组织者补录。") : null,
    p.score ? h("div", {}, `评价：${"★".repeat(p.score)}${"☆".repeat(5 - p.score)} ${p.comment || ""}`) : null);
}

export const taskDetail = {
  title: "任务详情",
  async render(view, ctx) {
    const {api, wx, go, params} = ctx;
    const id = Number(params.get("id"));
    const [task, mine] = await Promise.all([api.get(`/tasks/${id}`), participationIn(api, id)]);
    const out = h("div", {"data-outcome": true});
    const reload = () => go(`#/volunteer/task?id=${id}&t=${Date.now()}`);
    const done = (message) => { ctx.toast(message); reload(); };
    const accept = (waitlist) => action(waitlist ? "加入候补" : "接单", async () => {
      try {
        const p = await api.post(`/tasks/${id}/accept`, {waitlist});
        done(p.state === "waitlisted" ? "已加入候补名单" : "接单成功");
      } catch (error) {
        const more = [];
        if (error.code === "task_full") more.push(accept(true));
        if (error.code === "not_a_volunteer") {
          more.push(h("a", {class: "button primary", href: `#/volunteer/profile?next=${encodeURIComponent(`#/volunteer/task?id=${id}`)}`}, "注册志愿者"));
        }
        mount(out, refusal(error, more.length ? h("div", {class: "row", style: "justify-content:center;margin-top:8px"}, ...more) : null));
      }
    }, {out, attrs: {"data-accept": waitlist ? "waitlist" : "place"}});
    const withdraw = (label) => action(label, async () => {
      await api.post(`/tasks/${id}/withdraw`);
      done("已退出");
    }, {cls: "danger", out, attrs: {"data-withdraw": true}});
    const attend = (kind, label, byScan) => action(label, async () => {
      const p = await presence(api, wx, task, kind, {byScan});
      if (p) done(kind === "check-in" ? "签到成功" : "签退成功");
    }, {cls: byScan ? "" : "primary", out, attrs: {"data-attend": `${kind}${byScan ? "-scan" : ""}`}});

    const buttons = [];
    const state = mine?.state;
    const now = Date.now();
    // Arrival counts from an hour before the start to the end (EARLY_CHECKIN in the API).
    const arrivalOpen = now >= Date.parse(task.starts_at) - 3600_000 && now <= Date.parse(task.ends_at);
    const hint = state === "accepted" && !arrivalOpen
      ? h("p", {class: "muted", "data-hint": true}, now < Date.parse(task.starts_at)
        ? "任务开始前 1 小时起可以签到；不能参加请在开始前退出，名额会让给候补的志愿者。" : "任务已结束，不能再签到。") : null;
    if (!state || state === "withdrawn") {
      if (task.state === "published") buttons.push(task.places_left > 0 ? accept(false) : accept(true));
    } else if (state === "accepted") {
      if (arrivalOpen) buttons.push(attend("check-in", "现场签到", false), attend("check-in", "扫码签到", true));
      buttons.push(withdraw("退出任务"));
    } else if (state === "waitlisted") {
      buttons.push(withdraw("退出候补"));
    } else if (state === "checked_in") {
      buttons.push(attend("check-out", "现场签退", false), attend("check-out", "扫码签退", true));
    }
    mount(view,
      h("div", {class: "card"},
        h("div", {class: "spread"}, h("h2", {style: "font-size:17px"}, task.title), tag(TASK_STATES[task.state] || [task.state, ""])),
        h("div", {class: "muted"}, [task.community?.name, CATEGORIES[task.category] || task.category].filter(Boolean).join(" · ")),
        task.description ? h("p", {}, task.description) : null,
        h("table", {},
          h("tr", {}, h("th", {}, "时间"), h("td", {}, when(task))),
          h("tr", {}, h("th", {}, "地点"), h("td", {}, task.address || "见地图位置")),
          h("tr", {}, h("th", {}, "名额"), h("td", {"data-places": true}, `共 ${task.places} 个，已接 ${task.places_taken}，剩余 ${task.places_left}`)),
          h("tr", {}, h("th", {}, "计时"), h("td", {}, `每人最多 ${task.hours_credited} 小时`)),
          task.required_skills?.length ? h("tr", {}, h("th", {}, "技能"), h("td", {}, task.required_skills.join("、"))) : null,
          h("tr", {}, h("th", {}, "签到范围"), h("td", {}, `任务地点 ${task.radius_m} 米内，或扫组织者的二维码`))),
        task.members_only ? h("p", {}, h("span", {class: "tag red"}, "仅限党员志愿者")) : null,
        task.cancel_reason ? h("div", {class: "result bad"}, `任务已取消：${task.cancel_reason}`) : null),
      participationCard(mine),
      ["accepted", "waitlisted"].includes(state) && task.state === "published"
        ? subscribePrompt(ctx, state === "waitlisted" ? ["waitlist_promoted", "task_cancelled", "task_changed"]
          : ["task_cancelled", "task_changed"], state === "waitlisted"
          ? "候补成功、任务变更或取消时，用微信通知您？" : "任务时间地点变更或取消时，用微信通知您？")
        : null,
      hint,
      buttons.length ? h("div", {class: "row", style: "margin:8px 0"}, ...buttons) : null,
      out);
  },
};

/** A scanned task code (scan.js routes /q/ codes of kind T here). */
export const taskCode = {
  title: "任务签到",
  async render(view, {api, wx, go, params, toast}) {
    const text = params.get("code") || "";
    const scanned = classify(text);
    const id = scanned.kind === "task" ? codeSubject(scanned.token) : null;
    if (!id) {
      mount(view, h("div", {class: "result bad", role: "alert"}, "这不是志愿任务的签到码"));
      return;
    }
    const [task, mine] = await Promise.all([api.get(`/tasks/${id}`), participationIn(api, id)]);
    const out = h("div", {"data-outcome": true});
    const header = h("div", {class: "card"}, h("strong", {}, task.title), h("div", {class: "muted"}, when(task)),
      h("a", {href: `#/volunteer/task?id=${id}`}, "查看任务"));
    const kind = mine?.state === "accepted" ? "check-in" : mine?.state === "checked_in" ? "check-out" : null;
    if (!kind) {
      const why = !mine || mine.state === "withdrawn" ? "您没有接这个任务，不能签到。"
        : mine.state === "waitlisted" ? "您还在候补名单中，补位后才能签到。"
          : `您在该任务中的状态为“${(PARTICIPATION[mine.state] || [mine.state])[0]}”。`;
      mount(view, header, participationCard(mine), h("div", {class: "result warn", role: "status"}, why));
      return;
    }
    const label = kind === "check-in" ? "确认签到" : "确认签退";
    mount(view, header, participationCard(mine),
      h("div", {}, action(label, async () => {
        await presence(api, wx, task, kind, {code: text});
        toast(kind === "check-in" ? "签到成功" : "签退成功");
        go(`#/volunteer/task?id=${id}`);
      }, {out, attrs: {"data-attend": kind, class: "primary full"}})), out);
  },
};

export const myTasks = {
  title: "我的志愿任务",
  async render(view, {api}) {
    const list = pagedList({
      name: "my-tasks",
      empty: "您还没有接过任务",
      load: (cursor) => api.get("/me/tasks", {limit: 10, cursor}),
      item: (p) => h("a", {class: "list-item", href: `#/volunteer/task?id=${p.task_id}`, "data-my-task": p.task_id},
        h("div", {class: "spread"}, h("strong", {}, p.task_title), tag(PARTICIPATION[p.state] || [p.state, ""])),
        h("div", {class: "muted"}, `${fmtTime(p.starts_at)} – ${fmtTime(p.ends_at)}`)),
    });
    mount(view, h("a", {class: "button full", href: "#/volunteer/tasks", style: "text-align:center"}, "找附近的任务"), list.element);
    await list.ready;
  },
};

const titles = new Map();
function taskTitle(api, id) {
  if (!titles.has(id)) titles.set(id, api.get(`/tasks/${id}`).then((t) => t.title).catch(() => `任务 #${id}`));
  return titles.get(id);
}

export const record = {
  title: "我的服务记录",
  async render(view, {api}) {
    const first = await api.get("/me/volunteer-record", {limit: 10});
    const ratings = first.ratings || {};
    let pending = first;
    const list = pagedList({
      name: "ledger",
      empty: "还没有记入的服务时长（服务经求助居民或组织者确认后记入）",
      load: async (cursor) => {
        const answer = pending || await api.get("/me/volunteer-record", {limit: 10, cursor});
        pending = null;
        return {items: answer.items, next_cursor: answer.next_cursor};
      },
      item: async (entry) => h("div", {class: "list-item", "data-ledger": entry.id},
        h("div", {class: "spread"}, h("span", {}, `${entry.service_name || await taskTitle(api, entry.task_id)}${entry.kind === "credit" ? "" : "（更正）"}`),
          h("strong", {}, `${entry.hours > 0 && entry.kind !== "credit" ? "+" : ""}${entry.hours} 小时`)),
        h("div", {class: "muted"}, fmtTime(entry.created_at), entry.reason ? ` · ${entry.reason}` : "")),
    });
    mount(view,
      h("div", {class: "card row", style: "justify-content:space-around;text-align:center"},
        h("div", {}, h("div", {style: "font-size:22px;font-weight:600", "data-hours": true}, String(first.total_hours)), h("div", {class: "muted"}, "服务时长（小时）")),
        h("div", {}, h("div", {style: "font-size:22px;font-weight:600", "data-person-times": true}, String(first.person_times)), h("div", {class: "muted"}, "服务人次")),
        h("div", {}, h("div", {style: "font-size:22px;font-weight:600"}, ratings.average ? String(ratings.average) : "—"), h("div", {class: "muted"}, `评分（${ratings.count || 0} 次）`))),
      certificateCard(api),
      h("p", {class: "section-title"}, "时长明细"), list.element);
    await list.ready;
  },
};

// 志愿服务证明: a period (this year by default), then the PDF with its QR.
function certificateCard(api) {
  const year = new Date().getFullYear();
  const from = h("input", {type: "date", name: "from", value: `${year}-01-01`});
  const to = h("input", {type: "date", name: "to", value: localDay(new Date())});
  const out = h("div", {});
  const button = h("button", {class: "primary full", type: "submit", "data-certificate": true}, "申请志愿服务证明");
  return h("form", {class: "card", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const certificate = await api.post("/me/volunteer-certificate", {from: from.value, to: to.value});
      mount(out, h("div", {class: "result ok", role: "status", "data-certificate-issued": certificate.serial},
        `已出具证明 ${certificate.serial}：${certificate.services.length} 次服务，共 ${certificate.total_hours} 小时`));
      await api.download(certificate.pdf_url, `${certificate.serial}.pdf`);
    } catch (error) {
      mount(out, refusal(error));
    } finally {
      button.disabled = false;
    }
  }},
  h("strong", {}, "志愿服务证明"),
  h("p", {class: "muted"}, "按期间出具，列明每次服务和累计时长，带可在线核验的二维码。"),
  h("div", {class: "row"}, from, to), out, h("div", {style: "margin-top:8px"}, button));
}

function localDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export const profile = {
  title: "志愿者登记",
  async render(view, ctx) {
    const {api, params, go} = ctx;
    const volunteer = await myVolunteer(api);
    const choices = await communityChoices(ctx, [volunteer?.community]);
    const picker = communityPicker(choices, volunteer?.community?.id ?? null);
    const skills = h("input", {name: "skills", placeholder: "如：维修、辅导、陪诊（用逗号分隔）", value: (volunteer?.skills || []).join("，")});
    const availability = h("input", {name: "availability", maxlength: "200", placeholder: "如：周末上午", value: volunteer?.availability || ""});
    const name = h("input", {name: "name", maxlength: "50", placeholder: "用于服务记录和志愿服务证明", value: volunteer?.name || ""});
    const out = h("div", {"data-outcome": true});
    const submit = h("button", {class: "primary full", type: "submit", "data-volunteer-submit": true}, volunteer ? "保存" : "注册为志愿者");
    mount(view,
      volunteer ? h("div", {class: "card", "data-volunteer": true},
        h("div", {class: "spread"}, h("strong", {}, "已注册志愿者"), volunteer.is_member ? h("span", {class: "tag red"}, "党员志愿者") : h("span", {class: "tag"}, "志愿者")),
        h("div", {class: "muted"}, `服务社区：${volunteer.community?.name || ""} · 注册于 ${fmtTime(volunteer.created_at)}`)) : null,
      h("form", {class: "card", onsubmit: async (event) => {
        event.preventDefault();
        const communityId = picker.value();
        if (!communityId) { mount(out, h("div", {class: "result bad", role: "alert"}, "请选择服务社区")); return; }
        submit.disabled = true;
        try {
          await api.put("/me/volunteer", {
            community_id: communityId,
            skills: skills.value.split(/[,，、\s]+/).map((s) => s.trim()).filter(Boolean),
            availability: availability.value.trim(),
            ...(name.value.trim() ? {name: name.value.trim()} : {}),
          });
          ctx.toast(volunteer ? "已保存" : "注册成功");
          go(params.get("next") || `#/volunteer/profile?t=${Date.now()}`);
        } catch (error) {
          mount(out, refusal(error));
        } finally {
          submit.disabled = false;
        }
      }},
        h("p", {class: "muted"}, "注册后即可接单参加志愿服务；党员注册为“党员志愿者”。"),
        h("label", {}, "服务社区"), picker.element,
        volunteer?.is_member ? null : [h("label", {}, "姓名"), name],
        h("label", {}, "技能"), skills,
        h("label", {}, "可服务时间"), availability,
        h("div", {style: "margin-top:12px"}, submit)),
      out);
  },
};
