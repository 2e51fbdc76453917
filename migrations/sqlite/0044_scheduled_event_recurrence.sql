-- Recurrence rules of guild scheduled events (issue 15; Discord "Guild Scheduled Event
-- Recurrence Rule Object"): the rule as JSON (the wire object), NULL for an event that does
-- not recur.
ALTER TABLE scheduled_events ADD COLUMN recurrence_rule TEXT;
