"""Every widget and session-state key in one place, so pages and tests agree on names."""

from __future__ import annotations

from enum import StrEnum


class Key(StrEnum):
    # session
    USER = "user"
    USER_STAMP = "user_stamp"  # a digest of the signed-in account's password hash (dashboard/auth.py)
    EDIT_CLIP = "edit_clip"
    AFTER_SIGN_IN = "after_sign_in"  # the page (and ?clip=) a first visit asked for, before app.py ran
    LINKS_FOLLOWED = "links_followed"  # the ?clip= values app.py has opened the editor on
    APP_RAN = "app_ran"  # app.py signed someone in and registered the pages in this session
    FLASH = "flash"
    NOTICE = "mt_notice"  # the toast-like box that carries a notice and its Undo button
    UNDO = "undo"
    CONFIRM = "confirm"  # a publish waiting for "Publish anyway"
    CONFIRM_YES = "confirm_yes"
    CONFIRM_NO = "confirm_no"
    EXPORT_PROBLEM = "export_problem"
    # sign-in
    LOGIN_USERNAME = "login_username"
    LOGIN_PASSWORD = "login_password"
    LOGIN_SUBMIT = "login_submit"
    LOGIN_ERROR = "login_error"
    LOGOUT = "logout"
    # review queue: filters
    F_STATUS = "f_status"
    F_MEMBER = "f_member"
    F_CAMPAIGN = "f_campaign"
    F_OUTLET = "f_outlet"
    F_STATE = "f_state"
    F_TAG = "f_tag"
    F_DATES = "f_dates"
    F_TEXT = "f_text"
    F_CLEAR = "f_clear"
    F_SAVED = "_saved_filters"  # the filters kept across page visits
    # review queue: list and actions (per-clip keys are PREFIX + clip id)
    Q_CURSORS = "q_cursors"
    Q_SIGNATURE = "q_signature"
    Q_NEXT = "q_next"
    Q_PREV = "q_prev"
    Q_SELECT_ALL = "q_select_all"
    Q_SHOWN = "q_shown"  # {clip id: version} of the cards the queue last showed
    Q_BULK_APPROVE = "q_bulk_approve"
    Q_BULK_REJECT = "q_bulk_reject"
    Q_SELECT = "q_select:"
    Q_APPROVE = "q_approve:"
    Q_REJECT = "q_reject:"
    Q_EDIT = "q_edit:"
    Q_PRIMARY = "q_primary:"  # + the copy's clip id: make it the story's primary
    # clip editor (field keys are PREFIX + clip id, so switching clips starts fresh)
    E_PICK = "e_pick"
    E_SEARCH = "e_search"
    E_HEADLINE = "e_headline:"
    E_BLURB = "e_blurb:"
    E_IMAGE = "e_image:"
    E_CREDIT = "e_credit:"
    E_ALT = "e_alt:"
    E_OUTLET = "e_outlet:"
    E_FEATURED = "e_featured:"
    E_POSITION = "e_position:"
    E_TAGS = "e_tags:"
    E_MEMBERS = "e_members:"
    E_CAMPAIGNS = "e_campaigns:"
    E_SAVE_TARGETS = "e_save_targets"
    E_SAVE = "e_save"
    E_APPROVE = "e_approve"
    E_REJECT = "e_reject"
    E_VERSION = "e_version:"  # the clip's version when the editor opened it
    E_STALE = "e_stale:"  # why the last save of this clip was refused
    E_RELOAD = "e_reload"
    # outlets (field keys are PREFIX + domain)
    O_NAME = "o_name:"
    O_STATE = "o_state:"
    O_PLACE = "o_place:"
    O_TIER = "o_tier:"
    O_SAVE = "o_save:"
    O_SEARCH = "o_search"
    # published
    P_UP = "p_up:"
    P_DOWN = "p_down:"
    P_UNPUBLISH = "p_unpublish:"
    P_EDIT = "p_edit:"
    P_FEATURE = "p_feature:"
    P_FROM = "p_from"
    P_TO = "p_to"
    P_GO = "p_go"
    P_TEXT = "p_text"
    P_MEMBER = "p_member"
    P_CAMPAIGN = "p_campaign"
    P_OUTLET = "p_outlet"
    P_TAG = "p_tag"
    P_CLEAR = "p_clear"
    P_OFFSET = "p_offset"
    P_SIGNATURE = "p_signature"
    P_PREV = "p_prev"
    P_NEXT = "p_next"
    # add by URL
    A_URL = "a_url"
    A_FETCH = "a_fetch"
    A_META = "a_meta"
    A_TITLE = "a_title"
    A_OUTLET = "a_outlet"
    A_IMAGE = "a_image"
    A_DATE = "a_date"
    A_DESCRIPTION = "a_description"
    A_MEMBERS = "a_members"
    A_CAMPAIGNS = "a_campaigns"
    A_APPROVE = "a_approve"
    A_SAVE = "a_save"
    A_ERROR = "a_error"
    A_GO_EDITOR = "a_go_editor"
    # insights
    I_WINDOW = "i_window"
    # members & campaigns: the "test a rule" form
    R_KIND = "r_kind"
    R_BASE = "r_base"
    R_NAME = "r_name"
    R_TERMS = "r_terms"
    R_QUERY = "r_query"
    R_REQUIRE = "r_require"
    R_EXCLUDE = "r_exclude"
    R_RUN = "r_run"
    # reports (issue #17)
    REP_DATES = "rep_dates"
    REP_CAMPAIGN = "rep_campaign"
    REP_MEMBER = "rep_member"
    REP_CHAPTER = "rep_chapter"
    REP_APPROVED = "rep_approved"
    REP_FORMAT = "rep_format"
    REP_BUILD = "rep_build"
    REP_FILE = "_rep_file"  # (the choices it was built from, file name, mime type, bytes) of the last report built
    REP_DOWNLOAD = "rep_download"
    # notifications (issue #17)
    N_DIGEST = "n_digest"
    N_ADDRESS = "n_address"
    N_SEND_DIGEST = "n_send_digest"
    N_WEBHOOK = "n_webhook"
    N_SEND_WEBHOOK = "n_send_webhook"
