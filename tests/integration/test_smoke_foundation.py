from sqlalchemy import select

from conduit.domain.users.models import User
from tests.statements import assert_max_statements


async def test_health_answers_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unit_of_work_rows_vanish_after_the_test_rolls_back(database):
    with assert_max_statements(2):
        async with database.unit_of_work() as session:
            session.add(User(email="a@example.com", username="a", password_hash="x"))
            await session.flush()
    async with database.unit_of_work() as session:
        assert (await session.execute(select(User.username))).scalars().all() == ["a"]
