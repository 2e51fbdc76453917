-- Message components, modals and autocomplete (Discord "Components > Using Message
-- Components", "Interactions > Receiving and Responding").
--
-- `messages.components`: the message's action rows (JSON array of component objects) when
-- a bot, an interaction response or a webhook sent some; NULL otherwise.
ALTER TABLE messages ADD COLUMN components TEXT;

-- `interactions.message_id`: the message whose component was used (MESSAGE_COMPONENT, and
-- MODAL_SUBMIT of a modal opened from a component): callbacks 6 and 7 edit it.
-- `interactions.modal`: the modal the application answered with (callback 9, JSON of
-- `{custom_id, title, components}`), against which the MODAL_SUBMIT is checked.
ALTER TABLE interactions ADD COLUMN message_id BIGINT;
ALTER TABLE interactions ADD COLUMN modal TEXT;
