"""Identity badges, service posts and merchant plates."""
from __future__ import annotations

from flask import Response, current_app, url_for

from app.auth.current import current_user, login_required
from app.badges import badge, errors, keys, merchants, posts, scans
from app.badges.schemas import (
    AssignmentPageSchema,
    AssignmentSchema,
    AssignSchema,
    BadgeSchema,
    CodeSchema,
    DecisionSchema,
    DutyResultSchema,
    FeedbackInSchema,
    FeedbackPageSchema,
    FeedbackSchema,
    KeySetSchema,
    MerchantPlateSchema,
    PlateApplySchema,
    PlateListArgsSchema,
    PlatePageSchema,
    PlateViewSchema,
    PostCreateSchema,
    PostInSchema,
    PostListArgsSchema,
    PostPageSchema,
    PostSchema,
    RatingInSchema,
    RatingPageSchema,
    RatingSchema,
    ShownPageSchema,
    VerificationSchema,
    VerifySchema,
)
from app.common import code_images, qr
from app.common.blueprint import Blueprint
from app.common.idempotency import idempotent
from app.common.schemas import PageArgsSchema
from app.common.transitions import StateChanged
from app.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from app.extensions import limiter
from app.members.services import IdentityInactive, NotAMember
from app.moderation.services import CHECK_ERRORS

blp = Blueprint("badges", __name__, description="Member badges, service posts and merchant plates")

PNG = {"200": {"description": "A QR image",
               "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}}
PDF = {"200": {"description": "An A4 page at 300 dpi",
               "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


def _png(token: str, title: str, subtitle: str | None) -> Response:
    return Response(code_images.poster_png(token, title, subtitle), mimetype="image/png")


# ---- badges ------------------------------------------------------------------

@blp.route("/me/badge", methods=["GET"])
@login_required
@blp.response(200, BadgeSchema)
@blp.errors(NotAMember, IdentityInactive)
def my_badge():
    """Your badge: a signed code that lives ``BADGE_TTL`` seconds (60 by
    default); the phone shows it as a QR code and fetches a new one itself."""
    qr_text, expires_at = badge.my_badge(current_user())
    return {"qr_text": qr_text, "expires_at": expires_at}


@blp.route("/me/badge.png", methods=["GET"])
@login_required
@blp.doc(responses=PNG)
@blp.errors(NotAMember, IdentityInactive)
def my_badge_png():
    """Your badge as a QR image."""
    qr_text, _ = badge.my_badge(current_user())
    return Response(qr.png(qr_text), mimetype="image/png", headers={"Cache-Control": "no-store"})


@blp.route("/me/badge/shown", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ShownPageSchema)
@blp.errors(NotAMember, IdentityInactive, ValidationFailed)
def my_badge_shown(args):
    """When your identity was verified, newest first."""
    return badge.badge_shown(current_user(), args["limit"], args["cursor"])


@blp.route("/badges/keys", methods=["GET"])
@blp.response(200, KeySetSchema)
@blp.doc(security=[])
@blp.errors(auth=False)
def badge_keys():
    """The public keys that sign badges (JWK, Ed25519): the current one and
    the previous one, so a verifier can check a badge offline."""
    return {"keys": [keys.jwk(key) for key in keys.published_keys()],
            "token_format": keys.__doc__.split("\n\n")[1].replace("\n", " ")}


@blp.route("/badges/keys/rotate", methods=["POST"])
@login_required
@blp.response(200, KeySetSchema)
@blp.errors(Forbidden)
def rotate_badge_keys():
    """District admins: sign new badges with a new key; badges signed with
    the old one stay valid until they expire."""
    badge.rotate_badge_key(current_user())
    return {"keys": [keys.jwk(key) for key in keys.published_keys()]}


@blp.route("/badges/verify", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"], key_func=lambda: f"user:{current_user().id}")
@blp.arguments(VerifySchema)
@blp.response(200, VerificationSchema)
@blp.errors(RateLimited, ValidationFailed)
def verify_badge(body):
    """Check a scanned badge. ``valid: false`` comes with a ``reason``:
    expired, bad_signature, identity_revoked, identity_suspended,
    unknown_key, not_a_badge, malformed. Names are masked; no phone or ID."""
    return badge.verify_badge(current_user(), body["code"], body["location"])


# ---- service posts -----------------------------------------------------------

@blp.route("/posts", methods=["POST"])
@login_required
@blp.arguments(PostCreateSchema)
@blp.response(201, PostSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed, *CHECK_ERRORS)
def create_post(body):
    """Create a service demonstration post (党员服务示范岗) in your subtree."""
    post = posts.create_post(current_user(), body.pop("org_id"), body)
    return post, 201, {"Location": url_for("badges.get_post", post_id=post.id)}


@blp.route("/posts", methods=["GET"])
@login_required
@blp.arguments(PostListArgsSchema, location="query")
@blp.response(200, PostPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_posts(args):
    """Posts under an org of your subtree."""
    return posts.list_posts(current_user(), args["org_id"], args["limit"], args["cursor"])


@blp.route("/posts/<int:post_id>", methods=["GET"])
@login_required
@blp.response(200, PostSchema)
@blp.errors(NotFound)
def get_post(post_id):
    """One post (posts are public counters)."""
    return posts.public_post(current_user(), post_id)


@blp.route("/posts/<int:post_id>", methods=["PATCH"])
@login_required
@blp.arguments(PostInSchema)
@blp.response(200, PostSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed, *CHECK_ERRORS)
def update_post(body, post_id):
    """Change a post."""
    return posts.update_post(current_user(), post_id, body)


@blp.route("/posts/<int:post_id>/assignments", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, AssignmentPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_assignments(args, post_id):
    """Members assigned to the post, in the order they were assigned."""
    return posts.list_assignments(current_user(), post_id, args["limit"], args["cursor"])


@blp.route("/posts/<int:post_id>/assignments", methods=["POST"])
@login_required
@blp.arguments(AssignSchema)
@blp.response(201, AssignmentSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def assign_member(body, post_id):
    """Assign a member (by identity id) to the post."""
    assignment = posts.assign_member(current_user(), post_id, body["identity_id"])
    return assignment, 201, {"Location": url_for("badges.list_assignments", post_id=post_id)}


@blp.route("/posts/<int:post_id>/assignments/<int:identity_id>", methods=["DELETE"])
@login_required
@blp.response(204)
@blp.errors(NotFound, Forbidden)
def unassign_member(post_id, identity_id):
    """Take a member off the post (ending their duty if on)."""
    posts.unassign_member(current_user(), post_id, identity_id)


@blp.route("/posts/<int:post_id>/plate.png", methods=["GET"])
@login_required
@blp.doc(responses=PNG)
@blp.errors(NotFound, Forbidden, *code_images.POSTER_ERRORS)
def post_plate(post_id):
    """The post's printable plate with its QR code."""
    post, token = posts.post_plate_code(current_user(), post_id)
    return _png(token, post.name, f"{post.unit} {post.window}".strip())


@blp.route("/posts/<int:post_id>/plate.pdf", methods=["GET"])
@login_required
@blp.doc(responses=PDF)
@blp.errors(NotFound, Forbidden, *code_images.POSTER_ERRORS)
def post_plate_pdf(post_id):
    """The post's plate on an A4 page (300 dpi), ready to print."""
    post, token = posts.post_plate_code(current_user(), post_id)
    return code_images.poster_pdf(token, post.name, f"{post.unit} {post.window}".strip(),
                                  f"post-{post.id}-plate.pdf")


@blp.route("/posts/<int:post_id>/ratings", methods=["POST"])
@login_required
@idempotent
@blp.arguments(RatingInSchema)
@blp.response(201, RatingSchema)
@blp.errors(NotFound, errors.AlreadyRatedToday, ValidationFailed, *CHECK_ERRORS, idempotent=True)
def rate_post(body, post_id):
    """Rate the post's service 1–5 (one rating per user, post and day)."""
    rating = posts.rate_post(current_user(), post_id, body["score"], body["comment"])
    return rating, 201, {"Location": url_for("badges.list_ratings", post_id=post_id)}


@blp.route("/posts/<int:post_id>/ratings", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, RatingPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_ratings(args, post_id):
    """Ratings of a post, newest first, with count and average."""
    page, summary = posts.list_ratings(current_user(), post_id, args["limit"], args["cursor"])
    return {"items": page.items, "next_cursor": page.next_cursor, "summary": summary}


@blp.route("/plates/duty", methods=["POST"])
@login_required
@blp.arguments(CodeSchema)
@blp.response(200, DutyResultSchema)
@blp.errors(errors.InvalidPlateCode, errors.BadgeNotPlate, errors.NotAssigned,
            NotAMember, IdentityInactive, StateChanged, ValidationFailed)
def toggle_duty(body):
    """An assigned member scans their post's plate: on duty, and off again
    with the next scan."""
    on, session = scans.toggle_duty(current_user(), body["code"])
    return {"on_duty": on, "session": session}


@blp.route("/plates/scan", methods=["POST"])
@login_required
@blp.arguments(CodeSchema)
@blp.response(200, PlateViewSchema)
@blp.errors(errors.InvalidPlateCode, errors.BadgeNotPlate, ValidationFailed)
def scan_plate(body):
    """Scan a post plate (the post, who is on duty, its rating) or a merchant
    plate (the shop, its masked owner, its zone, and whether it is valid)."""
    return scans.scan_plate(current_user(), body["code"])


# ---- merchant plates -----------------------------------------------------------

@blp.route("/merchant-plates", methods=["POST"])
@login_required
@idempotent
@blp.arguments(PlateApplySchema)
@blp.response(201, MerchantPlateSchema)
@blp.errors(NotAMember, IdentityInactive, errors.NotABusinessZone, ValidationFailed, idempotent=True)
def apply_plate(body):
    """A member who runs a shop applies for a merchant plate (党员商户牌)."""
    plate = merchants.apply_plate(current_user(), body["zone_id"], body["shop_name"],
                                 body["address"], body["location"])
    return plate, 201, {"Location": url_for("badges.my_plates")}


@blp.route("/me/merchant-plates", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, PlatePageSchema)
@blp.errors(ValidationFailed)
def my_plates(args):
    """Your plate applications and plates, newest first."""
    return merchants.my_plates(current_user(), args["limit"], args["cursor"])


@blp.route("/merchant-plates", methods=["GET"])
@login_required
@blp.arguments(PlateListArgsSchema, location="query")
@blp.response(200, PlatePageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_plates(args):
    """Plates and applications in a business zone (its admins)."""
    return merchants.list_plates(current_user(), args["zone_id"], args.get("state"),
                                args["limit"], args["cursor"])


DECISION_ERRORS = (NotFound, Forbidden, errors.PlateNotPending, errors.PlateNotApproved,
                   StateChanged, ValidationFailed)


@blp.route("/merchant-plates/<int:plate_id>/approve", methods=["POST"])
@login_required
@blp.arguments(DecisionSchema)
@blp.response(200, MerchantPlateSchema)
@blp.errors(*DECISION_ERRORS)
def approve_plate(body, plate_id):
    """Approve a pending application (the zone's admins)."""
    return merchants.decide_plate(current_user(), plate_id, "approve", body["reason"])


@blp.route("/merchant-plates/<int:plate_id>/reject", methods=["POST"])
@login_required
@blp.arguments(DecisionSchema)
@blp.response(200, MerchantPlateSchema)
@blp.errors(*DECISION_ERRORS)
def reject_plate(body, plate_id):
    """Reject a pending application, with a reason."""
    return merchants.decide_plate(current_user(), plate_id, "reject", body["reason"])


@blp.route("/merchant-plates/<int:plate_id>/revoke", methods=["POST"])
@login_required
@blp.arguments(DecisionSchema)
@blp.response(200, MerchantPlateSchema)
@blp.errors(*DECISION_ERRORS)
def revoke_plate(body, plate_id):
    """Revoke an approved plate: scans show it as revoked at once."""
    return merchants.decide_plate(current_user(), plate_id, "revoke", body["reason"])


@blp.route("/merchant-plates/<int:plate_id>/plate.png", methods=["GET"])
@login_required
@blp.doc(responses=PNG)
@blp.errors(NotFound, Forbidden, errors.PlateNotApproved, *code_images.POSTER_ERRORS)
def merchant_plate_png(plate_id):
    """The approved plate, printable (its owner or the zone's admins)."""
    plate, token = merchants.merchant_plate_code(current_user(), plate_id)
    return _png(token, plate.shop_name, plate.address)


@blp.route("/merchant-plates/<int:plate_id>/plate.pdf", methods=["GET"])
@login_required
@blp.doc(responses=PDF)
@blp.errors(NotFound, Forbidden, errors.PlateNotApproved, *code_images.POSTER_ERRORS)
def merchant_plate_pdf(plate_id):
    """The approved plate on an A4 page (300 dpi), ready to print."""
    plate, token = merchants.merchant_plate_code(current_user(), plate_id)
    return code_images.poster_pdf(token, plate.shop_name, plate.address, f"merchant-{plate.id}-plate.pdf")


@blp.route("/merchant-plates/<int:plate_id>/feedback", methods=["POST"])
@login_required
@idempotent
@blp.arguments(FeedbackInSchema)
@blp.response(201, FeedbackSchema)
@blp.errors(NotFound, errors.PlateRevoked, ValidationFailed, *CHECK_ERRORS, idempotent=True)
def leave_feedback(body, plate_id):
    """A customer's feedback on the shop, which the zone's admins read."""
    feedback = merchants.leave_feedback(current_user(), plate_id, body["score"], body["comment"])
    return feedback, 201, {"Location": url_for("badges.list_feedback", plate_id=plate_id)}


@blp.route("/merchant-plates/<int:plate_id>/feedback", methods=["GET"])
@login_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, FeedbackPageSchema)
@blp.errors(NotFound, Forbidden, ValidationFailed)
def list_feedback(args, plate_id):
    """Feedback on a plate, newest first (the zone's admins)."""
    return merchants.list_feedback(current_user(), plate_id, args["limit"], args["cursor"])
