"""Mini-program code scenes: what a scanned ``scene`` is (app.common.code_images)."""
