-- Migration 16: a farm link says in which role it was made.
-- user_farms (0002, is_owner from 0007) linked a user to a farm without saying whether the link gives
-- a farmer's access (read-only; maybe owner) or a technician's (read and write). A user holding both
-- roles could therefore write on farms linked to them only as a farmer, keep (and read as a farmer) the
-- farms assigned to them as a technician after losing that role, and lost every link with the farmer
-- role. Now a link is (user, farm, role): a user reads a farm linked to them in a role they hold, and
-- writes on it through a technician link while holding the technician role; taking a role away removes
-- exactly the links of that role (apps/server/src/auth/user-accounts.ts setRoles). Only farmer links own.
--
-- Existing links keep the access they give today:
--   - a user holding the technician role and not the farmer role: a technician link;
--   - a user holding both roles: a technician link (they read and write the farm today), plus a farmer
--     link for a farm they own (the ownership, which only farmer links carry). A non-owner link of such
--     a user becomes a technician link only: if they later lose the technician role they lose that farm
--     rather than keep reading it as a farmer (nothing says they were ever its farmer; an admin links
--     them as farmer if they were);
--   - everyone else (farmers, users holding neither role): a farmer link, ownership kept.
-- A technician without the farmer role marked owner (possible only by hand in psql: only farmers own
-- farms) keeps the link as a technician link, without the ownership.
-- user_farms is small (one row per user and farm): the rewrite and the new primary key take a moment.
ALTER TABLE user_farms ADD COLUMN role text NOT NULL DEFAULT 'farmer';

WITH holds AS (
  SELECT u.id AS user_id,
         EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id AND r.name = 'technician') AS technician,
         EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id AND r.name = 'farmer') AS farmer
    FROM users u
)
-- Both roles and owner: the farmer link stays as it is, a technician link is added beside it (below,
-- once the primary key allows two links of one user to one farm).
UPDATE user_farms uf SET role = 'technician', is_owner = false
  FROM holds h
 WHERE h.user_id = uf.user_id AND h.technician AND NOT (h.farmer AND uf.is_owner);

ALTER TABLE user_farms ALTER COLUMN role DROP DEFAULT;
ALTER TABLE user_farms DROP CONSTRAINT user_farms_pkey;
ALTER TABLE user_farms ADD PRIMARY KEY (user_id, farm_id, role);
ALTER TABLE user_farms ADD CONSTRAINT user_farms_role_check CHECK (role IN ('farmer', 'technician'));
ALTER TABLE user_farms ADD CONSTRAINT user_farms_owner_is_farmer CHECK (NOT is_owner OR role = 'farmer');

INSERT INTO user_farms (user_id, farm_id, role, is_owner, created_at)
SELECT uf.user_id, uf.farm_id, 'technician', false, uf.created_at
  FROM user_farms uf
 WHERE uf.role = 'farmer' AND uf.is_owner
   AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                WHERE ur.user_id = uf.user_id AND r.name = 'technician');
