// Every page of the console: path -> {title, render(view, ctx)}, and the nav
// entries {group, label, href, roles?}; each area keeps its own in its folder.
import * as core from "./core.js";
import * as org from "./org/index.js";
import * as centers from "./centers/index.js";
import * as volunteer from "./volunteer/index.js";
import * as grid from "./grid/index.js";
import * as dashboard from "./dashboard/index.js";

const areas = [dashboard, org, centers, volunteer, grid];

export const routes = Object.assign({}, core.routes, ...areas.map((area) => area.routes));
export const nav = areas.flatMap((area) => area.nav);
