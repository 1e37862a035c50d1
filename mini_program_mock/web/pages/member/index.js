// Pages of this group: path -> {title, render(view, ctx)}, and home-screen entries.
import {badge} from "./badge.js";
import {bind} from "./binding.js";
import {checkin, myCheckins, scanToCheckin} from "./checkin.js";
import {report} from "./report.js";
import {myTasks, nearbyTasks, profile, record, taskCode, taskDetail} from "./volunteer.js";

export const routes = {
  "/member/bind": bind,
  "/checkin": checkin,
  "/member/scan-checkin": scanToCheckin,
  "/member/checkins": myCheckins,
  "/member/badge": badge,
  "/member/report": report,
  "/volunteer/tasks": nearbyTasks,
  "/volunteer/task": taskDetail,
  "/task-code": taskCode,
  "/volunteer/mine": myTasks,
  "/volunteer/record": record,
  "/volunteer/profile": profile,
};

const active = (me) => me.identity?.status === "active";

/** {section, label, icon, href, show(me)}: show decides from GET /me whether the entry appears. */
export const menu = [
  {section: "党员服务", label: "绑定党员身份", icon: "✚", href: "#/member/bind",
   show: (me) => !me.identity || me.identity.status === "revoked"},
  {section: "党员服务", label: "我的党员身份", icon: "☆", href: "#/member/bind",
   show: (me) => Boolean(me.identity) && me.identity.status !== "revoked"},
  {section: "党员服务", label: "签到", icon: "✓", href: "#/member/scan-checkin", show: active},
  {section: "党员服务", label: "亮身份", icon: "▣", href: "#/member/badge", show: active},
  {section: "党员服务", label: "我的签到", icon: "≡", href: "#/member/checkins", show: (me) => Boolean(me.identity)},
  {section: "党员服务", label: "社区报到", icon: "⌂", href: "#/member/report", show: active},
  {section: "志愿服务", label: "附近任务", icon: "◎", href: "#/volunteer/tasks"},
  {section: "志愿服务", label: "我的任务", icon: "☰", href: "#/volunteer/mine"},
  {section: "志愿服务", label: "服务时长", icon: "◷", href: "#/volunteer/record"},
  {section: "志愿服务", label: "志愿者登记", icon: "♥", href: "#/volunteer/profile"},
];
