"""Content routes: the local help directory."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.auth import audit
from api.content import directory
from api.content.deps import ContentStaff
from api.content.models import DirectoryEntry
from api.content.safe_words import check_directory_entry
from api.deps import ERROR_RESPONSES, DbSession, RowId
from api.security.json_body import GuardedJsonRoute

router = APIRouter(prefix="/api/v1", tags=["content: directory"], route_class=GuardedJsonRoute,
                   responses=ERROR_RESPONSES)


class EntryIn(BaseModel):
    name: str = Field(max_length=200)
    kind: str = Field(max_length=60)
    province: str = Field(max_length=120)
    district: str = Field(default="", max_length=120)  # refused when given: no districts since July 2025
    commune: str = Field(default="", max_length=120)
    phone: str = Field(max_length=40)
    hours: str = Field(default="", max_length=120)


@router.get("/directory")
def list_directory(db: DbSession, _user: ContentStaff) -> list[dict[str, Any]]:
    return [directory.entry_out(e) for e in directory.all_entries(db)]


@router.get("/directory/search")
def search_directory(db: DbSession, q: Annotated[str, Query(max_length=200)] = "") -> list[dict[str, Any]]:
    """Public: the help directory holds only public service numbers. 111 always comes first."""
    return [directory.entry_out(e) for e in directory.search(db, q)]


def _checked(body: EntryIn) -> dict[str, str]:
    data = body.model_dump()
    data["kind"] = directory.kind_code(data["kind"].strip())
    try:
        return directory.validate_entry(data)
    except directory.DirectoryError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None


def _refuse_duplicate(db: Any, values: dict[str, str], entry_id: int | None = None) -> None:
    same = directory.local_entries_by_key(db).get(directory.entry_key(values))
    if same is not None and same.id != entry_id:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Đã có một mục cùng tên ở nơi này: hãy sửa mục đó. / "
                                                             "An entry with this name and place exists.")


@router.post("/directory", status_code=status.HTTP_201_CREATED)
def add_directory_entry(body: EntryIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    values = _checked(body)
    _refuse_duplicate(db, values)
    entry = directory.add_entry(db, values)
    db.flush()
    audit(db, user, "content.directory.add", f"directory:{entry.id}")
    db.commit()
    return {**directory.entry_out(entry), "warnings": check_directory_entry(values)}


def _local_entry(db: Any, entry_id: int, refusal: str) -> DirectoryEntry:
    entry = db.get(DirectoryEntry, entry_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Không có mục này. / No such entry.")
    if entry.national:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=refusal)
    return entry


@router.put("/directory/{entry_id}")
def update_directory_entry(entry_id: RowId, body: EntryIn, db: DbSession, user: ContentStaff) -> dict[str, Any]:
    entry = _local_entry(db, entry_id, "Không sửa được số quốc gia. / National numbers cannot be changed.")
    values = _checked(body)
    _refuse_duplicate(db, values, entry.id)
    changed = directory.update_entry(entry, values)
    audit(db, user, "content.directory.update", f"directory:{entry_id}", {"changed": changed})
    db.commit()
    return {**directory.entry_out(entry), "warnings": check_directory_entry(values)}


@router.delete("/directory/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_directory_entry(entry_id: RowId, db: DbSession, user: ContentStaff) -> None:
    entry = _local_entry(db, entry_id, "Không xoá được số quốc gia. / National numbers cannot be removed.")
    db.delete(entry)
    audit(db, user, "content.directory.delete", f"directory:{entry_id}")
    db.commit()


@router.get("/directory/export.csv")
def export_directory(db: DbSession, _user: ContentStaff) -> PlainTextResponse:
    return PlainTextResponse(directory.export_csv(directory.all_entries(db)), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="danh-ba.csv"'})


MAX_IMPORT_BYTES = 2_000_000


# The CSV file may be larger than the app's MAX_BODY_BYTES: this route has its own limit (with room
# for the multipart framing), and the file's own size is checked below.
@router.post("/directory/import", max_body_size=MAX_IMPORT_BYTES + 64 * 1024)
async def import_directory(db: DbSession, user: ContentStaff, file: UploadFile = File(...)) -> dict[str, Any]:
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="Tệp quá lớn (tối đa 2 MB). / File too large.")
    try:
        rows = directory.parse_csv(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="Tệp cần mã hoá UTF-8. / The file must be UTF-8.") from None
    except directory.DirectoryError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    counts = directory.import_rows(db, rows)
    audit(db, user, "content.directory.import", "directory", {"rows": len(rows), **counts})
    db.commit()
    # The style guide (docs/content.md) warns, never blocks: a child reads the names and hours.
    warnings = [f"{row['name']}: {w}" for row in rows for w in check_directory_entry(row)]
    return {"imported": len(rows), **counts, **({"warnings": warnings} if warnings else {})}
