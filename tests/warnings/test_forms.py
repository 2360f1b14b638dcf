"""The case page's forms as a browser receives them."""

import datetime as dt

from django.utils import translation

from fangpin.warnings.forms import FeedbackForm, MeasureForm, VisitForm


def test_date_boxes_carry_iso_dates_that_a_date_input_accepts_under_the_chinese_locale():
    with translation.override("zh-hans"):
        for form_class in (VisitForm, MeasureForm, FeedbackForm):
            html = str(form_class(initial={"date": dt.date(2026, 12, 2)})["date"])
            assert 'type="date"' in html
            assert 'value="2026-12-02"' in html, html
