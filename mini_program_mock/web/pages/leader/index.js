// Pages of this group: path -> {title, render(view, ctx)}, and home-screen entries.
export const routes = {};

/** {section, label, icon, href, show(me)}: show decides from GET /me whether the entry appears. */
export const menu = [];
