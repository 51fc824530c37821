"""Date and time formats per language (``FORMAT_MODULE_PATH``): each page, the admin included,
shows one date-time format per language. What is not set here comes from Django's own locale
formats (input formats, number separators)."""
