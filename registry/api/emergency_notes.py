"""Emergency-procedure notes."""

from __future__ import annotations

import marshmallow as ma

from registry.api import caller, caller_tier, context
from registry.api.args import NoArgs, PageArgs, RegistryBlueprint, TextFilter, WordsFilter, page_of
from registry.api.publishing import add_publishing_routes
from registry.api.responses import page_response, record_response
from registry.services import emergency_notes

blp = RegistryBlueprint("emergency_notes", __name__,
                        description="Emergency procedures, temporary measures, suspensions.")

NOTE = {"$ref": "#/components/schemas/EmergencyNote"}


class NoteListArgs(PageArgs):
    country = TextFilter("Notes for the country or one of its authorities.")
    authority = TextFilter("Record id of the authority the note is scoped to.")
    network = TextFilter("Notes scoped to a whole network.")
    in_force = ma.fields.Boolean(metadata={"description": "true: in force on `on`; false: not in force then."})
    on = ma.fields.Date(metadata={"description": "YYYY-MM-DD; the day `in_force` refers to (default today). "
                                                 "Given alone it means in_force=true on that day."})
    q = WordsFilter()


@blp.route("/emergency-notes")
@blp.arguments(NoteListArgs, location="query")
@blp.response(200, {"type": "array", "items": NOTE}, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
def list_notes(args):
    """Notes matching every given filter, the most recent first. Paginated."""
    page = page_of(args)
    wanted = emergency_notes.NoteFilters(**args)
    return page_response(emergency_notes.list_notes(context(), wanted, page, caller_tier()))


@blp.route("/emergency-notes/<record_id:note_id>")
@blp.arguments(NoArgs, location="query")
@blp.response(200, NOTE, content_type="application/json")
@blp.alt_response(400, response="BAD_REQUEST", description="Unknown query parameter")
@blp.alt_response(404, response="NOT_FOUND", description="No such record")
@blp.alt_response(410, response="GONE", description="Deleted: when and by whom")
def get_note(_args, note_id):
    """One note."""
    return record_response(emergency_notes.get_note(context(), note_id, caller()))


add_publishing_routes(blp, collection="emergency-notes", record_type="emergency_note", component="EmergencyNote",
                      id_param="note_id")
