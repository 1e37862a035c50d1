"""The district's figures (check-ins, volunteer service, grid events, badges)
for a subtree and one kind of period, as JSON and as XLSX workbooks with
Chinese headers, for the admins who publish them."""
