-- Session revocation: every issued token carries its user's token_version (omitted while it
-- is 0, so tokens of unchanged users look exactly like the reference's); a password change or
-- reset, a role change and a deactivation add 1, and tokens with another version are refused
-- at the user lookup every request already makes. Tokens issued before this migration have
-- no version and stay valid until their user's first such change.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
