// Chinese names of the volunteer service's categories and states (the API's codes).
export const CATEGORIES = {
  elderly_care: "助老服务", errands: "代办跑腿", repairs: "维修帮助", tutoring: "学业辅导",
  medical_escort: "就医陪护", other: "其他", community_service: "社区服务",
};
export const HELP_CATEGORIES = ["elderly_care", "errands", "repairs", "tutoring", "medical_escort", "other"];
export const TASK_STATES = {draft: "草稿", published: "已发布", in_progress: "进行中", completed: "已完成", cancelled: "已取消"};
export const REQUEST_STATES = {submitted: "待审核", dispatched: "已派单", rejected: "已驳回", cancelled: "已撤回", closed: "已关闭"};
export const PARTICIPATION_STATES = {
  waitlisted: "候补", accepted: "已接单", withdrawn: "已退出", checked_in: "已签到", checked_out: "已签退",
  confirmed: "已确认", no_show: "未到场", cancelled: "已取消",
};
export const CORRECTION_STATES = {pending: "待处理", applied: "已采纳", rejected: "已驳回"};

const TONE = {
  published: "ok", in_progress: "warn", completed: "", cancelled: "bad", draft: "",
  submitted: "warn", dispatched: "ok", rejected: "bad", closed: "",
  accepted: "ok", checked_in: "warn", checked_out: "warn", confirmed: "ok", no_show: "bad", waitlisted: "",
  pending: "warn", applied: "ok",
};

export function tone(state) {
  return TONE[state] || "";
}

/** The API names states by their codes in "invalid_state" messages; say them in Chinese. */
export function readable(error) {
  const state = error.details?.state;
  const label = TASK_STATES[state] || PARTICIPATION_STATES[state] || REQUEST_STATES[state] || CORRECTION_STATES[state] || state;
  if (error.code === "invalid_state" && state) error.message = `当前状态为“${label}”，不能执行此操作。请刷新页面查看最新状态。`;
  if (error.code === "state_changed" && state) error.message = `该记录刚刚已被他人更改（当前为“${label}”），请刷新后再试。`;
  if (error.code === "task_not_open" && state) error.message = `该任务当前为“${label}”状态。`;
  return error;
}

/** The API client, with the state codes of its refusals said in Chinese. */
export function readableApi(api) {
  const wrap = (call) => (...args) => call(...args).catch((error) => { throw readable(error); });
  return {...api, post: wrap(api.post), patch: wrap(api.patch)};
}
