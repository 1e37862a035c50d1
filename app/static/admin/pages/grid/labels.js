// Chinese names of the grid events' states, actions, roles and org kinds (the API's codes).
export const OPEN_STATES = ["unverified", "reported", "accepted", "dispatched", "in_progress", "resolved"];
export const EVENT_STATES = {
  unverified: "待核实", reported: "已上报", accepted: "已受理", dispatched: "已派遣", in_progress: "处置中",
  resolved: "已处置", closed: "已结案", rejected: "不予受理", duplicate: "重复事件",
};
export const ACTIONS = {
  report: "上报", confirm: "核实", accept: "受理", reject: "不予受理", duplicate: "标记重复", handle_self: "自行处置",
  dispatch: "派遣", take: "接手处置", return: "退回", extend: "申请延期", approve_extension: "批准延期",
  resolve: "办结", verify_ok: "核查通过", verify_fail: "核查不通过", reopen: "重新打开", escalate: "提级上报（吹哨）",
};
export const ROLES = {
  district_admin: "区委管理员", org_admin: "组织管理员", center_admin: "阵地管理员", grid_leader: "网格长",
  building_leader: "楼栋长", lane_leader: "街巷长", handler: "处置人", reporter: "上报人", member: "党员", resident: "群众",
};
export const ORG_KINDS = {
  district: "区", linkage_center: "联动中心", street: "街道", community: "社区", business_zone: "商圈",
  office_building: "楼宇", school: "学校", two_new_org: "两新组织", housing_estate: "小区", property_company: "物业公司",
  party_branch: "党支部", party_group: "党小组", temporary_branch: "临时党支部",
};
export const STEPS = {accept: "受理", handle: "处置", verify: "核查"};
export const LIGHTS = {green: "正常", yellow: "临期", red: "超时"};
