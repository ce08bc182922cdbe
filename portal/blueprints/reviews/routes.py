"""Guest reviews: the host's page - the public block as the public sees it, every review with
why it is or isn't shown (R60-R63), sub-scores, reply rate and the monthly average."""
from flask_login import current_user, login_required

from portal.blueprints.reviews import bp, present
from portal.extensions import db
from portal.web.render import render
from services.accounts import access
from services.core import clock
from services.reviews import display


@bp.route("/p/<slug>/reviews")
@login_required
def page(slug):
    """The host's reviews page (host and the office's staff)."""
    prop = access.property_for(db.session, current_user, slug)
    today = clock.today(prop.timezone)
    ov = display.overview(db.session, prop, today)
    return render("reviews/page.html", prop=prop, ov=ov, review_block=ov.block, figures=ov.figures,
                  chart=present.chart(ov.figures, ov.block.scale_min, ov.block.scale_max),
                  ordered_sub_scores=sorted(ov.figures.sub_scores, key=lambda s: present.sub_score_order(s.name)),
                  oldest_shown=display.oldest_shown(today), **present.helpers())
