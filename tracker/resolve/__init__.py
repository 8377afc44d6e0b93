"""Search-engine links (Google News, Bing News) resolved to the publisher's URL.

    links.py     pure: which links are search redirects, and the ones that decode offline
    google.py    pure: Google News' two-request protocol (the article page, batchexecute)
    resolver.py  the lookups themselves, through tracker.fetch: throttled, one origin only

Nothing is imported here: the parse processes use links.py and must not pay for requests.
"""
