"""GET /api/users: the user list (pages/api/users.ts in the Next.js example)."""

# Fake users data
users = [{"id": 1}, {"id": 2}, {"id": 3}]


async def handler(_req, res):
    # Get data from your database
    res.status(200).json(users)
