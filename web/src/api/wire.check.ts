// Compile-time check of the client's wire types against real server objects: each fixture in
// web/wire-fixtures/ is a hearth-wire object (tests/it/web.rs parses it into the Rust type and
// compares its re-serialization), and here `tsc` checks that each fixture is a value of the
// TypeScript type the client uses for it. A field the TS type requires that the server does not
// send, or sends with another JSON type, fails `npm run typecheck`. Nothing here is bundled.
import applicationCommandIndex from '../../wire-fixtures/application_command_index.json';
import autocompleteResponse from '../../wire-fixtures/autocomplete_response.json';
import channel from '../../wire-fixtures/channel.json';
import channelSyncBody from '../../wire-fixtures/channel_sync_body.json';
import createChannelBody from '../../wire-fixtures/create_channel_body.json';
import createDmBody from '../../wire-fixtures/create_dm_body.json';
import createGuildBody from '../../wire-fixtures/create_guild_body.json';
import createInviteBody from '../../wire-fixtures/create_invite_body.json';
import createMessageBody from '../../wire-fixtures/create_message_body.json';
import createRoleBody from '../../wire-fixtures/create_role_body.json';
import dmChannel from '../../wire-fixtures/dm_channel.json';
import groupDmChannel from '../../wire-fixtures/group_dm_channel.json';
import channelRecipient from '../../wire-fixtures/channel_recipient.json';
import createGroupDmBody from '../../wire-fixtures/create_group_dm_body.json';
import editMessageBody from '../../wire-fixtures/edit_message_body.json';
import guild from '../../wire-fixtures/guild.json';
import interactionEvent from '../../wire-fixtures/interaction_event.json';
import interactionModalCreate from '../../wire-fixtures/interaction_modal_create.json';
import invite from '../../wire-fixtures/invite.json';
import loginBody from '../../wire-fixtures/login_body.json';
import message from '../../wire-fixtures/message.json';
import messageSearchResult from '../../wire-fixtures/message_search_result.json';
import threadChannel from '../../wire-fixtures/thread_channel.json';
import forumChannel from '../../wire-fixtures/forum_channel.json';
import threadList from '../../wire-fixtures/thread_list.json';
import messageWithThread from '../../wire-fixtures/message_with_thread.json';
import passiveUpdate from '../../wire-fixtures/passive_update.json';
import messageDelete from '../../wire-fixtures/message_delete.json';
import reactionRemove from '../../wire-fixtures/reaction_remove.json';
import registerBody from '../../wire-fixtures/register_body.json';
import relationship from '../../wire-fixtures/relationship.json';
import relationshipBody from '../../wire-fixtures/relationship_body.json';
import relationshipRemove from '../../wire-fixtures/relationship_remove.json';
import tokenPair from '../../wire-fixtures/token_pair.json';
import typingStart from '../../wire-fixtures/typing_start.json';
import user from '../../wire-fixtures/user.json';
import ready from '../../wire-fixtures/ready.json';
import guildCreate from '../../wire-fixtures/guild_create.json';
import role from '../../wire-fixtures/role.json';
import member from '../../wire-fixtures/member.json';
import guildEmoji from '../../wire-fixtures/guild_emoji.json';
import ban from '../../wire-fixtures/ban.json';
import auditLog from '../../wire-fixtures/audit_log.json';
import webhook from '../../wire-fixtures/webhook.json';
import presenceUpdate from '../../wire-fixtures/presence_update.json';
import readState from '../../wire-fixtures/read_state.json';
import messageAck from '../../wire-fixtures/message_ack.json';
import authSessions from '../../wire-fixtures/auth_sessions.json';
import mfaEnabled from '../../wire-fixtures/mfa_enabled.json';
import modifyMeBody from '../../wire-fixtures/modify_me_body.json';
import type * as W from './wire';

export const checked: [
  W.User,
  W.TokenPair,
  W.Guild,
  W.Channel,
  W.Message,
  W.Invite,
  W.MessageDelete,
  W.TypingStart,
  W.RegisterBody,
  W.LoginBody,
  W.CreateGuildBody,
  W.CreateMessageBody,
  W.EditMessageBody,
  W.CreateInviteBody,
  W.ChannelBody,
  W.RoleBody,
  W.ReactionEvent,
  W.Channel,
  W.Relationship,
  W.CreateDmBody,
  W.RelationshipBody,
  W.RelationshipRemove,
  W.PassiveUpdate,
  W.ApplicationCommandIndex,
  W.InteractionModalCreate,
  W.InteractionClientEvent,
  W.AutocompleteResponse,
  W.ChannelPosition[],
  W.MessageSearchResult,
  W.Channel,
  W.Channel,
  W.ThreadList,
  W.Message,
  W.Channel,
  W.ChannelRecipient,
  W.CreateDmBody,
  W.Ready,
  W.GuildCreate,
  W.Role,
  W.Member,
  W.GuildEmoji,
  W.Ban,
  W.AuditLog,
  W.Webhook,
  W.PresenceUpdate,
  W.ReadState,
  W.MessageAck,
  W.AuthSession[],
  W.MfaEnabled,
  W.ModifyMeBody,
] = [
  user,
  tokenPair,
  guild,
  channel,
  message,
  invite,
  messageDelete,
  typingStart,
  registerBody,
  loginBody,
  createGuildBody,
  createMessageBody,
  editMessageBody,
  createInviteBody,
  createChannelBody,
  createRoleBody,
  reactionRemove,
  dmChannel,
  relationship,
  createDmBody,
  relationshipBody,
  relationshipRemove,
  passiveUpdate,
  applicationCommandIndex,
  interactionModalCreate,
  interactionEvent,
  autocompleteResponse,
  channelSyncBody,
  messageSearchResult,
  threadChannel,
  forumChannel,
  threadList,
  messageWithThread,
  groupDmChannel,
  channelRecipient,
  createGroupDmBody,
  ready,
  guildCreate,
  role,
  member,
  guildEmoji,
  ban,
  auditLog,
  webhook,
  presenceUpdate,
  readState,
  messageAck,
  authSessions,
  mfaEnabled,
  modifyMeBody,
];
// The `POST /interactions` bodies are checked by `src/bots.fixtures.test.ts`: the client's
// builders produce exactly `wire-fixtures/interaction_*_body.json` (JSON imports widen
// `type` to `number`, which the literal union of `InteractionRequest` does not take).
