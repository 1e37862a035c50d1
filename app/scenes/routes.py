"""Mini-program code scenes."""
from __future__ import annotations

from app.auth.current import login_required
from app.common.blueprint import Blueprint
from app.common.db import utcnow
from app.scenes import services
from app.scenes.schemas import SceneSchema

blp = Blueprint("scenes", __name__, description="Mini-program codes: what a scanned scene is")


@blp.route("/scenes/<string(maxlength=64):scene>", methods=["GET"])
@login_required
@blp.response(200, SceneSchema)
@blp.errors(services.SceneNotFound, services.SceneRevoked, services.SceneExpired)
def resolve_scene(scene):
    """What a mini-program code is: WeChat opens the entry page with its
    ``scene`` (``QR_KIND=wxacode``); the answer names the object and the
    ``code`` to continue with, the same flow a scanned URL code leads to.
    404 ``scene_not_found`` for a forged or unknown scene, 410
    ``scene_revoked`` for a code replaced by a key rotation, 410
    ``scene_expired`` for a task code past its time."""
    return services.resolve(scene, utcnow())
