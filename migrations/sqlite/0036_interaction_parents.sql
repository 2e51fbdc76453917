-- `interactions.parent_id`: for a MODAL_SUBMIT, the interaction whose callback 9 opened the
-- modal (Discord "Message Interaction Metadata Object": a modal submit's
-- `triggering_interaction_metadata`); NULL otherwise.
ALTER TABLE interactions ADD COLUMN parent_id BIGINT;
