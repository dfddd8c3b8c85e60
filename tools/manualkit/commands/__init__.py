"""The verbs. Each module declares its command(s) in ``COMMANDS`` (see ``registry``); this lists
them, one line per command (name, the module that declares it), in the order ``manual --help``
shows. A new command is its module and one line here."""

INDEX: tuple[tuple[str, str], ...] = (
    ("check", "commands.check"),
    ("propose", "commands.propose"),
    ("approve", "commands.approve"),
    ("export-approval", "commands.approve"),
    ("release", "commands.release"),
    ("review", "commands.review"),
    ("status", "commands.status"),
    ("remind", "commands.remind"),
    ("history", "commands.history"),
    ("show", "commands.show"),
    ("diff", "commands.diff"),
    ("audit", "commands.audit"),
    ("init", "commands.init"),
    ("allowed-signers", "commands.allowed_signers"),
    ("publish", "commands.publish"),
    ("docx", "commands.docx"),
    ("pdf", "commands.pdf"),
    ("verify", "commands.verify"),
    ("build", "commands.build"),
    ("serve", "commands.serve"),
    ("desk", "desk.command"),  # the signing desk, the second face, declares its command itself
    ("return", "commands.procedure"),
    ("revoke-key", "commands.procedure"),
    ("training", "commands.procedure"),
    ("distribute", "commands.procedure"),
    ("recall", "commands.procedure"),
    ("obligations", "commands.obligations"),
    ("review-copy", "commands.review_round"),
    ("import-review", "commands.review_round"),
    ("answer", "commands.review_round"),
    ("summary", "commands.summary"),
    ("comment", "commands.comment"),
    ("codes", "commands.codes"),
)
