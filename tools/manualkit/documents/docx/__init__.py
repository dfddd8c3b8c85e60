"""One renderer for the manual's Word documents: the release DOCX (:mod:`.release`) and the
redline with tracked changes (:mod:`.redline`) are both written by :class:`.body.Body`, whose parts
each render one kind of thing (paragraphs, inline runs, lists and tables, notes, change bars and
tracked changes, front matter)."""
