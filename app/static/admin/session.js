// The console's API client and the names of roles, shared by its pages.
import {createApi} from "/static/faces/api.js";

export const api = createApi({storageKey: "admin.session", onLoggedOut: () => { location.hash = "#/login"; }});

export const ROLE_NAMES = {
  district_admin: "区委管理员", org_admin: "组织管理员", center_admin: "阵地管理员",
  grid_leader: "网格长", building_leader: "楼栋长", lane_leader: "街巷长",
};
export const ADMIN_ROLES = new Set(["district_admin", "org_admin", "center_admin"]);
