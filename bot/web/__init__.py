"""The maintainers' page (issue 13): see app.py for the views, service.py for how `faqbot run` serves it."""
