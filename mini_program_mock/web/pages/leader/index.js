// The pages of grid, building and lane leaders: report grid events and follow them.
import * as events from "./events.js";

export const routes = {...events.routes};

const LEADERS = new Set(["grid_leader", "building_leader", "lane_leader"]);
const isLeader = (me) => me.roles.some((grant) => LEADERS.has(grant.role));

/** {section, label, icon, href, show(me)}: show decides from GET /me whether the entry appears. */
export const menu = [
  {section: "网格治理", label: "上报事件", icon: "⚑", href: "#/grid-events/new", show: isLeader},
  {section: "网格治理", label: "我上报的", icon: "☰", href: "#/grid-events?tab=mine", show: isLeader},
  {section: "网格治理", label: "网格事件", icon: "▦", href: "#/grid-events?tab=grid", show: isLeader},
];
