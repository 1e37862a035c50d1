// Pages of this area: path -> {title, render(view, ctx)}, and nav entries
// {group, label, href, roles?} (roles: only for these scope roles).
export const routes = {};
export const nav = [];
