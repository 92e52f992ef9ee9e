DROP TABLE webhook_events;
DROP TABLE organization_memberships;
DROP TABLE organizations;
DROP TABLE users;
