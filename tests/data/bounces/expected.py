"""What each vendored message gives :func:`mailbox_engine.feedback.classify`.

``None``: left alone (not a bounce, or no recipient can be told). Otherwise the failed
recipients (``address: (kind, status)``, kind ``hard`` or ``soft``, status "" when the
format has none), the Message-IDs of the returned original, best first (empty where the
file has none: many are redacted), and whether it is a bounce of a bounce.

The flufl.bounce entries were generated once from the upstream test table
(``tests/test_detectors.py``, ``DETECTORS``: the addresses, and permanent or temporary)
and the classifier (the DSN Status, when there is one, decides hard or soft), then
reviewed by hand: every address set is upstream's; a comment says why where an entry
differs from the table or the file is unusual."""

FLUFL = {  # flufl.bounce 6.0.0's corpus (flufl/)
    "aol_01.txt": {"failures": {"screenname@aol.com": ("hard", "")}, "original_ids": [], "loop": False},
    # no row upstream: a Jetmail notice that names no address a detector can read
    "bounce_01.txt": None,
    "bounce_02.txt": {
        "failures": {"userx@example.com": ("hard", "")},
        "original_ids": ["<mailman.0.1037840296.16399.macarthur1975@example.org>"],
        "loop": False,
    },
    "bounce_03.txt": {
        "failures": {"userx@example.uk": ("hard", "")},
        "original_ids": [
            "<20021027170004.27298.9909.Mailman@mail.python.org>",
            "<15802.52753.139705.927733@gargle.gargle.HOWL>",
        ],
        "loop": False,
    },
    "caiwireless_01.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "dsn_01.txt": {
        "failures": {"userx@example.com": ("hard", "5.0.0")},
        "original_ids": ["<F1218V8zDv60gxapzha000001ae@hotmail.com>"],
        "loop": False,
    },
    # upstream: permanent (Action: failed); soft here, its Status is 4.4.7 (gave up after retries)
    "dsn_02.txt": {
        "failures": {"zzzzz@example.uk": ("soft", "4.4.7")},
        "original_ids": ["<LNBBLJKPBEHFEDALKOLCMEEDIFAA.tim.one@home.com>"],
        "loop": False,
    },
    "dsn_03.txt": {
        "failures": {"userx@example.be": ("hard", "")},
        "original_ids": ["<31575A892FF6D1118F5800600846864D5B17D1@intrepid>"],
        "loop": False,
    },
    # the DSN block names the original recipient and the final one (haasm@...): one failure, as upstream
    "dsn_04.txt": {
        "failures": {"userx@example.ch": ("hard", "5.0.0")},
        "original_ids": ["<Pine.LNX.4.31.0106300001530.2750-100000@athlon.de>"],
        "loop": False,
    },
    "dsn_05.txt": {"failures": {"userx@example.cz": ("soft", "4.4.1")}, "original_ids": [], "loop": False},
    "dsn_06.txt": {
        "failures": {"userx@example.com": ("soft", "4.4.0")},
        "original_ids": ["<j4d77kvs79.fsf@informatik.hu-berlin.de>"],
        "loop": False,
    },
    "dsn_07.txt": {"failures": {"userx@example.nz": ("soft", "4.4.1")}, "original_ids": [], "loop": False},
    "dsn_08.txt": {
        "failures": {"userx@example.de": ("soft", "4.0.0")},
        "original_ids": ["<NEBBLDPBKLOKNHPAEECGAENDCIAA.zope@toenjes.com>"],
        "loop": False,
    },
    "dsn_09.txt": {
        "failures": {"userx@example.com": ("hard", "5.0.0")},
        "original_ids": ["<3BE4F1EC.8306C281@nleaudio.com>"],
        "loop": False,
    },
    "dsn_10.txt": {
        "failures": {"anne.person@dom.ain": ("hard", "5.0.0")},
        "original_ids": ["<200210211625.12753.b.a.dude@example.com>"],
        "loop": False,
    },
    "dsn_11.txt": {
        "failures": {"joem@example.com": ("hard", "5.1.1")},
        "original_ids": ["<mailman.0.1035637201.19036.mailman-developers@python.org>"],
        "loop": False,
    },
    "dsn_12.txt": {
        "failures": {"userx@example.jp": ("hard", "5.1.1")},
        "original_ids": ["<mailman.6301.1139723231.1568.wed_ride@grizz.org>"],
        "loop": False,
    },
    "dsn_13.txt": {
        "failures": {"userx@example.com": ("hard", "5.1.1")},
        "original_ids": ["<mailman.8262.1143060203.1568.wed_ride@grizz.org>"],
        "loop": False,
    },
    "dsn_14.txt": {
        "failures": {"userx@example.com.dk": ("hard", "")},
        "original_ids": ["<mailman.2721.1143482819.1567.gpc-talk@grizz.org>"],
        "loop": False,
    },
    # a gateway wraps the DSN in a message/rfc822 part with the report's own Message-ID:
    # read as the report; the returned original is the list's message
    "dsn_15.txt": {
        "failures": {"userx@example.com": ("hard", "5.1.1")},
        "original_ids": ["<mailman.4360.1149475419.1567.gpc-talk@grizz.org>"],
        "loop": False,
    },
    "dsn_16.txt": {"failures": {"userx@example.com": ("hard", "5.0.0")}, "original_ids": [], "loop": False},
    # the DSN block names the original recipient and the final one (xxx@...): one failure, as upstream
    "dsn_17.txt": {
        "failures": {"userx@example.fi": ("soft", "4.3.0")},
        "original_ids": ["<mailman.150418.1209869464.31038.pray4-team@strategicnetwork.org>"],
        "loop": False,
    },
    "dsn_18.txt": {"failures": {"email@replaced.net": ("hard", "5.0.0")}, "original_ids": [], "loop": False},
    # no row upstream ("No addresses are detectable"): left alone
    "dumbass_01.txt": None,
    "exim_01.txt": {
        "failures": {"userx@its.example.nl": ("hard", "")},
        "original_ids": ["<19990920022322.A19735@stereo.rotzorg.org>"],
        "loop": False,
    },
    "groupwise_01.txt": {
        "failures": {"userx@example.edu": ("hard", "")},
        "original_ids": ["<20010720085308.H17468@magic.example.org>"],
        "loop": False,
    },
    # two rows upstream: GroupWise finds nothing, Exchange finds the address
    "groupwise_02.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    # upstream: not a bounce (a person's reply)
    "groupwise_03.txt": None,
    "hotpop_01.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "llnl_01.txt": {"failures": {"user1@example.gov": ("hard", "")}, "original_ids": [], "loop": False},
    "microsoft_01.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "microsoft_02.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "microsoft_03.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "microsoft_04.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "netscape_01.txt": {
        "failures": {"aaaaa@corel.com": ("hard", ""), "bbbbb@corel.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "newmailru_01.txt": {"failures": {"zzzzz@newmail.ru": ("hard", "")}, "original_ids": [], "loop": False},
    "postfix_01.txt": {"failures": {"xxxxx@local.ie": ("hard", "")}, "original_ids": [], "loop": False},
    "postfix_02.txt": {
        "failures": {"yyyyy@digicool.com": ("hard", "")},
        "original_ids": ["<14915.64162.965657.699956@anthem.concentric.net>"],
        "loop": False,
    },
    "postfix_03.txt": {"failures": {"ttttt@ggggg.com": ("hard", "")}, "original_ids": [], "loop": False},
    "postfix_04.txt": {"failures": {"userx@mail1.example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "postfix_05.txt": {"failures": {"userx@example.net": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_01.txt": {"failures": {"userx@example.de": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_02.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_03.txt": {"failures": {"userx@example.jp": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_04.txt": {"failures": {"userx@example.au": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_05.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_06.txt": {"failures": {"ntl@xxx.com": ("hard", "")}, "original_ids": [], "loop": False},
    "qmail_07.txt": {"failures": {"user@example.net": ("hard", "")}, "original_ids": [], "loop": False},
    # upstream: not a bounce (an auto-reply)
    "qmail_08.txt": None,
    "sendmail_01.txt": {
        "failures": {"zzzzz@nfg.nl": ("hard", ""), "zzzzz@shaft.coal.nl": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "simple_01.txt": {"failures": {"bbbsss@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_02.txt": {"failures": {"userx@example.net": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_03.txt": {"failures": {"userx@example.za": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_04.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_05.txt": {"failures": {"userx@example.net": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_06.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_07.txt": {"failures": {"userx@example.net": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_08.txt": {"failures": {"userx@example.de": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_09.txt": {"failures": {"userx@example.de": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_10.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_11.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_12.txt": {"failures": {"userx@example.ac.jp": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_13.txt": {"failures": {"userx@example.fr": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_14.txt": {
        "failures": {"userx@example.com": ("hard", ""), "usery@example.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "simple_15.txt": {"failures": {"userx@example.be": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_16.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_17.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_18.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_19.txt": {"failures": {"userx@example.com.ar": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_20.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_21.txt": {"failures": {"userx@example.com": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_22.txt": {"failures": {"user@example.org": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_23.txt": {"failures": {"userx@example.it": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_24.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_25.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_26.txt": {"failures": {"userx@example.it": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_27.txt": {"failures": {"userx@example.net.py": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_28.txt": {"failures": {"userx@example.com": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_29.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_30.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_31.txt": {"failures": {"userx@example.fr": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_32.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_33.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_34.txt": {"failures": {"roland@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_35.txt": {"failures": {"calvin@example.com": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_36.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_37.txt": {"failures": {"user@example.edu": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_38.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_39.txt": {"failures": {"userx@example.ru": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_40.txt": {"failures": {"user@example.com": ("soft", "")}, "original_ids": [], "loop": False},
    "simple_41.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    # upstream: none; the DSN part names david...@gmail.com, redacted, that no mailbox can have: dropped
    "simple_42.txt": None,
    # upstream: none
    "simple_43.txt": None,
    "simple_44.txt": {"failures": {"user@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "simple_45.txt": {
        "failures": {"subscriber@earthlink.net": ("hard", "")},
        "original_ids": ["<message-id@example.com>"],
        "loop": False,
    },
    "sina_01.txt": {
        "failures": {"userx@sina.com": ("hard", ""), "usery@sina.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "smtp32_01.txt": {"failures": {"userx@example.ph": ("hard", "")}, "original_ids": [], "loop": False},
    "smtp32_02.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "smtp32_03.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "smtp32_04.txt": {
        "failures": {"after_another@example.net": ("hard", ""), "one_bad_address@example.net": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "smtp32_05.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "smtp32_06.txt": {
        "failures": {"absolute_garbage_addr@example.net": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "smtp32_07.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "yahoo_01.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "yahoo_02.txt": {"failures": {"userx@example.es": ("hard", "")}, "original_ids": [], "loop": False},
    "yahoo_03.txt": {"failures": {"userx@example.com": ("hard", "")}, "original_ids": [], "loop": False},
    "yahoo_04.txt": {
        "failures": {"userx@example.es": ("hard", ""), "usery@example.uk": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "yahoo_05.txt": {
        "failures": {"userx@example.com": ("hard", ""), "usery@example.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "yahoo_06.txt": {
        "failures": {
            "usera@example.com": ("hard", ""),
            "userx@example.com": ("hard", ""),
            "usery@example.com": ("hard", ""),
            "userz@example.com": ("hard", ""),
        },
        "original_ids": [],
        "loop": False,
    },
    "yahoo_07.txt": {
        "failures": {
            "userw@example.com": ("hard", ""),
            "userx@example.com": ("hard", ""),
            "usery@example.com": ("hard", ""),
            "userz@example.com": ("hard", ""),
        },
        "original_ids": [],
        "loop": False,
    },
    "yahoo_08.txt": {
        "failures": {
            "usera@example.com": ("hard", ""),
            "userb@example.com": ("hard", ""),
            "userc@example.com": ("hard", ""),
            "userd@example.com": ("hard", ""),
            "usere@example.com": ("hard", ""),
            "userf@example.com": ("hard", ""),
        },
        "original_ids": [],
        "loop": False,
    },
    "yahoo_09.txt": {
        "failures": {"userx@example.com": ("hard", ""), "usery@example.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
    "yahoo_10.txt": {
        "failures": {
            "userx@example.com": ("hard", ""),
            "usery@example.com": ("hard", ""),
            "userz@example.com": ("hard", ""),
        },
        "original_ids": [],
        "loop": False,
    },
    "yahoo_11.txt": {"failures": {"bad_user@aol.com": ("hard", "")}, "original_ids": [], "loop": False},
    # HTML only: no text line to give as the reason
    "yahoo_12.txt": {"failures": {"user@yahoo.com": ("hard", "")}, "original_ids": [], "loop": False},
    "yahoo_13.txt": {
        "failures": {"bogus-address@example.net": ("hard", "")},
        "original_ids": ["<130907fb-848c-d154-8e59-ed1e08319fcf@yahoo.com>"],
        "loop": False,
    },
    "yale_01.txt": {
        "failures": {"userx@cs.yale.edu": ("hard", ""), "userx@yale.edu": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
}

ODOO = {  # Odoo 18's own test bounces (odoo/)
    "mail_bounce.eml": {
        "failures": {"gone@customer.example.com": ("hard", "5.0.0")},
        "original_ids": ["<original-1@mailbox.example.com>"],
        "loop": False,
    },
    "mail_bounce_qp_rfc822_headers.eml": {
        "failures": {"rdesfrdgtfdrfesd@outlook.com": ("hard", "5.5.0")},
        "original_ids": ["<368396033905967.1673346177.695352554321289-openerp-11-sale.order@eupp00>"],
        "loop": False,
    },
    "mail_no_final_recipient.eml": {
        "failures": {"gone@customer.example.com": ("hard", "")},
        "original_ids": [],
        "loop": False,
    },
}

CPYTHON = {  # CPython's email test messages (cpython/): two bounces, the rest ordinary mail
    "msg_01.txt": None,
    "msg_02.txt": None,
    "msg_04.txt": None,
    # a multipart/report with no delivery-status part: left alone
    "msg_05.txt": None,
    "msg_06.txt": None,
    "msg_07.txt": None,
    "msg_11.txt": None,
    "msg_16.txt": {
        "failures": {"jangel1@cougar.noc.ucla.edu": ("hard", "5.0.0")},
        "original_ids": ["<002001c144a6$8752e060$56104586@oxy.edu>"],
        "loop": False,
    },
    # no From header: a detector raises on it; not a candidate anyway
    "msg_18.txt": None,
    # no From header: a detector raises on it; not a candidate anyway
    "msg_19.txt": None,
    "msg_21.txt": None,
    # a DSN whose boundary parameter is cut short: no part can be found, left alone
    "msg_25.txt": None,
    "msg_32.txt": None,
    "msg_33.txt": None,
    "msg_36.txt": None,
    # no From header: a detector raises on it; not a candidate anyway
    "msg_40.txt": None,
    # From 'Mail Delivery Subsystem' but no report and no address: left alone
    "msg_42.txt": None,
    # the returned headers carry the report's own Message-ID: still the original's (only a
    # returned report with it is a gateway's wrapping)
    "msg_43.txt": {
        "failures": {
            "xxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
            "xxxxxxxxxxxxxxxx@dot.ca.gov": ("hard", "5.7.1"),
        },
        "original_ids": ["<edab.7804f5cb8070@python.org>"],
        "loop": False,
    },
    "msg_46.txt": None,
}
