"""The district's figures as spreadsheets: the JSON statistics of each
feature (check-ins, volunteer service, grid events, badges) exported to XLSX
with Chinese headers, for the admins who publish them."""
