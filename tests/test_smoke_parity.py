import store


class Note(store.Model):
    title = store.CharField(max_length=20)
    body = store.JSONField(null=True)


def test_create_and_read_back(db, tables):
    tables(Note)
    note = Note.create(title="hello", body={"tags": ["a", "b"]})
    again = Note.get_by_id(note.id)
    assert again.title == "hello"
    assert again.body == {"tags": ["a", "b"]}
    assert db.features.name in ("sqlite", "postgresql")
