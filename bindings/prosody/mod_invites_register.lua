-- mod_invites_register on the xmpp-invites core: registration with invite
-- tokens (XEP-0445, and the legacy urn:xmpp:invite), the registration gate,
-- and pre-approved subscriptions (XEP-0379). Unlike stock 0.12.3 it
-- enforces bound usernames, never lets a reset invite create an account,
-- approves contact-only tokens in subscribe presences, re-reads the invite
-- from storage before an account is created and holds a claim on it until
-- the account exists (so one single-use token registers one account,
-- however many sessions presented it and whatever yields in between), and
-- never logs a whole token.
local st = require "util.stanza";
local jid_split = require "util.jid".split;
local jid_bare = require "util.jid".bare;
local rostermanager = require "core.rostermanager";
local usermanager = require "core.usermanager";
local modulemanager = require "core.modulemanager";

local xi = module:require("xmpp_invites_loader");

local require_encryption = module:get_option_boolean("c2s_require_encryption",
	module:get_option_boolean("require_encryption", true));
local invite_only = module:get_option_boolean("registration_invite_only", true);

local invites;
if prosody.process_type == "prosody" then
	invites = module:depends("invites");
	if invite_only then
		module:depends("register_ibr");
	end
end

local function log_token(token)
	return xi.redact_token(token or "") or "(malformed)";
end

local legacy_invite_stream_feature = st.stanza("register", { xmlns = "urn:xmpp:invite" }):up();
local invite_stream_feature = st.stanza("register", { xmlns = "urn:xmpp:ibr-token:0" }):up();
module:hook("stream-features", function(event)
	local session, features = event.origin, event.features;
	-- Advertised to unauthenticated clients only, on encrypted streams
	-- unless encryption is not required.
	if session.type ~= "c2s_unauthed" or (require_encryption and not session.secure) then
		return;
	end
	features:add_child(legacy_invite_stream_feature);
	features:add_child(invite_stream_feature);
end);

-- The inviter's presence to a contact that has just been approved, as
-- mod_presence sends it when a request comes in already approved: every
-- available resource's, or "unavailable" when none is.
local function send_presence_to(username, host, contact)
	local sent = 0;
	local user = prosody.bare_sessions[username.."@"..host];
	for _, session in pairs(user and user.sessions or {}) do
		if session.presence then
			local pres = st.clone(session.presence);
			pres.attr.to = contact;
			prosody.core_post_stanza(session, pres, true);
			sent = sent + 1;
		end
	end
	if sent == 0 then
		module:send(st.presence({ type = "unavailable", from = username.."@"..host, to = contact }));
	end
end

-- Claims on invites being used. The gate reads the invite again from
-- storage, but the token is spent only in user-registered, and between the
-- two the account is created (an async auth or storage backend may yield)
-- and any user-registering handler that runs after the gate may wait
-- (prosody-modules' mod_register_dnsbl waits on DNS): another session's
-- gate would then read the same unspent record. So the gate, after its
-- last storage read, claims the invite for the registration it admits.
-- A claim ends when a later handler refuses the registration, or after
-- CLAIM_TTL seconds (a registration that failed without a word). Once the
-- invite is spent the claim stays as spent for CLAIM_TTL: a read that was
-- under way while it was spent may still show the invite unspent, and the
-- spent claim keeps counting against every read that does not show its use
-- yet. A pre-approved subscription claims the invite the same way while it
-- writes the rosters. Claims are per process, as the sessions are.
local CLAIM_TTL = 15;
-- token -> { [holder] = { until = os.time() + CLAIM_TTL, uses = n, spent = bool } }
local claims = {};

-- How many registrations the invite admits at once: nil for any number
-- (reusable), the uses left for a max_uses invite, otherwise one; and the
-- uses counted in the record read.
local function admits(fresh)
	local record = fresh._valid.record;
	local uses = record and record.uses or 0;
	if fresh.reusable then return nil, uses; end
	if record and record.max_uses then
		return record.max_uses - uses, uses;
	end
	return 1, uses;
end

-- Drops every claim whose time is up.
local function prune(now)
	for token, held in pairs(claims) do
		for h, c in pairs(held) do
			if c["until"] < now then held[h] = nil; end
		end
		if next(held) == nil then claims[token] = nil; end
	end
end

-- Claims the invite, as `fresh` read it, for `holder` (the table that
-- carries the presented invite, or the stanza); false when others hold
-- every use the read shows. A spent claim counts only against a read that
-- does not show its use yet.
local function claim(token, holder, fresh)
	local limit, uses = admits(fresh);
	local now = os.time();
	prune(now);
	local held = claims[token] or {};
	local others = 0;
	for h, c in pairs(held) do
		if h ~= holder and (not c.spent or uses <= c.uses) then
			others = others + 1;
		end
	end
	if limit and others >= limit then
		return false;
	end
	held[holder] = { ["until"] = now + CLAIM_TTL, uses = uses };
	claims[token] = held;
	return true;
end

-- Ends `holder`'s claim: `spent` after the invite was spent (the claim
-- stays as spent for CLAIM_TTL), otherwise at once.
local function release(token, holder, spent)
	local held = token and claims[token];
	local c = held and held[holder];
	if not c then return; end
	if spent then
		c.spent, c["until"] = true, os.time() + CLAIM_TTL;
	else
		held[holder] = nil;
		if next(held) == nil then claims[token] = nil; end
	end
end

-- XEP-0379: a subscription request carrying the inviter's token is
-- approved, the inviter's roster pushed, and a subscription sent back.
-- The request is answered here, not by mod_presence: it would look up the
-- subscription in the online contact's roster, which has not heard of the
-- approval yet, so when the inviter is offline a local contact would never
-- hear "subscribed" (stock 0.12.3's case).
module:hook("presence/bare", function (event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "subscribe" then return; end
	local preauth = stanza:get_child("preauth", "urn:xmpp:pars:0");
	if not preauth then return; end
	local token = preauth.attr.token;
	if not token then return; end

	local username, host = jid_split(stanza.attr.to);
	if host ~= module.host or not username then return; end

	local invite, err = invites.get(token, username);
	if not invite then
		-- Delivered as an ordinary subscription request.
		module:log("debug", "Subscription with invite %s not pre-approved: %s", log_token(token), err);
		return;
	end

	-- Claimed as a registration claims it: the roster writes below may
	-- yield, and another request with the same single-use token would be
	-- approved too before this one spends it.
	if not claim(invite.token, stanza, invite) then
		module:log("debug", "Invite %s is being used by another request", log_token(token));
		return;
	end
	local contact = jid_bare(stanza.attr.from);
	local user_jid = username.."@"..host;
	module:log("debug", "Approving inbound subscription to %s from %s", user_jid, contact);
	if not rostermanager.set_contact_pending_in(username, host, contact, stanza)
	or not rostermanager.subscribed(username, host, contact) then
		release(invite.token, stanza);
		return;
	end
	invite:use();
	release(invite.token, stanza, true);
	rostermanager.roster_push(username, host, contact);
	module:send(st.presence({ type = "subscribed", from = user_jid, to = contact }));
	send_presence_to(username, host, contact);
	-- Ask for the way back: the goal is a mutual subscription.
	if not rostermanager.is_user_subscribed(username, host, contact)
	and not rostermanager.is_contact_pending_out(username, host, contact) then
		if rostermanager.set_contact_pending_out(username, host, contact) then
			rostermanager.roster_push(username, host, contact);
			module:send(st.presence({ type = "subscribe", from = user_jid, to = contact }));
		end
	end
	return true;
end, 1);

-- XEP-0445: the client presents a token before registering.
module:hook("stanza/iq/urn:xmpp:pars:0:preauth", function(event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.attr.type ~= "set" then return; end
	local token = stanza.tags[1].attr.token;
	local validated_invite, err = invites.get(token);
	if not validated_invite then
		module:log("debug", "Refused preauth %s: %s", log_token(token), err);
		if err == "internal-server-error" then
			origin.send(st.error_reply(stanza, "wait", "internal-server-error", "The invite cannot be checked right now; try again later"));
		else
			origin.send(st.error_reply(stanza, "cancel", "forbidden", "The invite token is invalid or expired"));
		end
		return true;
	end
	origin.validated_invite = validated_invite;
	origin.send(st.reply(stanza));
	return true;
end);

-- Refuses the registration for want of storage: which names are held, or
-- what the invite is, is unknown (fail closed).
local function unavailable(event, what, err)
	module:log("error", "Cannot %s: %s", what, tostring(err));
	event.allowed = false;
	event.reason = "Registration is not possible right now; try again later";
	event.error_type, event.error_condition = "wait", "internal-server-error";
end

-- The gate, after the other user-registering handlers (priority -100): one
-- that refuses does so before the gate claims the invite, and none that
-- waits on I/O runs between the claim and the account's creation (a claim
-- covers those that run later still). Every refusal says why, in Prosody's
-- words where it has some.
module:hook("user-registering", function (event)
	if event.allowed == false then return; end -- refused already
	local validated_invite = event.validated_invite or (event.session and event.session.validated_invite);
	local username = event.username;
	-- Every read that may yield first, the invite's last: after it, nothing
	-- can yield before the claim, and a registration that spends the invite
	-- meanwhile holds a claim that counts against this read.
	local account_exists = usermanager.user_exists(username, module.host);
	-- A name held by another pending bound invite is not free. (Without an
	-- invite on an invite-only server the gate refuses anyway.)
	local records;
	if validated_invite or not invite_only then
		-- The keyval view of the invite store lists every host-level record.
		local stored, store_err = module:open_store("invite_token"):get(nil);
		if stored == nil and store_err then
			return unavailable(event, "read the pending invites to check reserved usernames", store_err);
		end
		records = {};
		for _, record in pairs(stored or {}) do
			-- A record the core cannot read reserves nothing, and does not
			-- keep the others from reserving theirs.
			if type(record) == "table" and xi.record_type(record) then records[#records + 1] = record; end
		end
	end
	local fresh;
	if validated_invite then
		local err;
		-- As the store has it now: it may have been used or deleted since
		-- it was presented.
		fresh, err = validated_invite:reread();
		if not fresh and err == "internal-server-error" then
			return unavailable(event, "read the invite "..log_token(validated_invite.token), err);
		elseif not fresh then
			module:log("debug", "Invite %s no longer valid at registration: %s", log_token(validated_invite.token), err);
			if invite_only then
				event.allowed = false;
				event.reason = "The invite token is invalid or expired";
				return;
			end
		end
	end
	local reserved = false;
	if records then
		local by, err = xi.reserved_by(username, records, os.time(), fresh and fresh.token);
		if by == nil and err then
			return unavailable(event, "check reserved usernames", err);
		end
		reserved = by and true or false;
	end
	-- Nothing from here to the claim can yield.
	if fresh and not claim(fresh.token, validated_invite, fresh) then
		module:log("debug", "Invite %s is being used by another registration", log_token(fresh.token));
		if invite_only then
			event.allowed = false;
			event.reason = "The invite token is invalid or expired";
			return;
		end
		fresh = nil;
	end
	if validated_invite and not fresh then
		-- Registration is open: the invite was a way in, not the only one,
		-- so the request goes on as one without an invite, and nothing of
		-- the invite is applied once the account exists.
		validated_invite.admitted = nil;
		if event.session then event.session.validated_invite = nil; end
	end
	local admitted, code, message = xi.registration_gate{
		invite = fresh and fresh._valid or nil,
		invite_only = invite_only,
		username = username,
		account_exists = account_exists,
		reserved = reserved,
	};
	if not admitted then
		if fresh then release(fresh.token, validated_invite); end
		module:log("debug", "Registration of %s refused: %s", tostring(username), code);
		event.allowed = false;
		event.reason = message;
		if code == "account-exists" then
			event.error_type, event.error_condition = "cancel", "conflict";
		elseif code == "username-reserved" then
			event.error_type, event.error_condition = "cancel", "not-allowed";
		end
		return;
	end
	if admitted.kind == "password-reset" then
		event.allow_reset = admitted.username;
	end
	if fresh then
		-- Whoever holds the invite presented (the session, or a web
		-- registration module) now holds the invite as stored, and what to
		-- apply once the account exists.
		for k, v in pairs(fresh) do validated_invite[k] = v; end
		validated_invite.admitted = admitted;
	end
end, -100);

-- After every other user-registering handler: one that refused the
-- registration ends the claim the gate took for it.
module:hook("user-registering", function (event)
	local validated_invite = event.validated_invite or (event.session and event.session.validated_invite);
	if event.allowed == false and validated_invite and validated_invite.admitted then
		release(validated_invite.token, validated_invite);
		validated_invite.admitted = nil;
	end
end, -1000);

-- Make a *one-way* subscription. User will see when contact is online,
-- contact will not see when user is online.
function subscribe(host, user_username, contact_username) --luacheck: ignore 131/subscribe
	local user_jid = user_username.."@"..host;
	local contact_jid = contact_username.."@"..host;
	rostermanager.set_contact_pending_out(user_username, host, contact_jid);
	rostermanager.set_contact_pending_in(contact_username, host, user_jid);
	rostermanager.subscribed(contact_username, host, user_jid);
	rostermanager.process_inbound_subscription_approval(user_username, host, contact_jid);
end

-- Make a mutual subscription between user1 and user2.
function subscribe_both(host, user1, user2) --luacheck: ignore 131/subscribe_both
	subscribe(host, user1, user2);
	subscribe(host, user2, user1);
end

local function apply_roles(username, roles)
	if not roles or #roles == 0 then return; end
	if usermanager.set_user_role then -- 13: primary role, then secondary ones
		local ok, err = usermanager.set_user_role(username, module.host, roles[1]);
		if not ok then module:log("error", "Could not set role %s of %s: %s", roles[1], username, err); end
		for i = 2, #roles do
			if usermanager.add_user_secondary_role then
				usermanager.add_user_secondary_role(username, module.host, roles[i]);
			end
		end
	else -- 0.12: the roles store holds a set
		local set = {};
		for _, role in ipairs(roles) do set[role] = true; end
		module:open_store("roles"):set(username, set);
	end
end

local function apply_groups(username, groups)
	if not groups or #groups == 0 then return; end
	-- Where prosody-modules' mod_invites_groups is loaded (on Prosody 13
	-- the module that applies them), the groups are its job: applied twice,
	-- each member would be invited to the group's chat twice.
	if modulemanager.is_loaded(module.host, "invites_groups") then return; end
	local groups_internal = modulemanager.get_module(module.host, "groups_internal");
	if not groups_internal or not groups_internal.add_member then
		module:log("warn", "Invite for %s names groups, but mod_groups_internal is not loaded", username);
		return;
	end
	for _, group_id in ipairs(groups) do
		local ok, err = groups_internal.add_member(group_id, username);
		if not ok then module:log("warn", "Could not add %s to group %s: %s", username, group_id, tostring(err)); end
	end
end

-- Registration done: spend the token, then contacts, roles and groups.
module:hook("user-registered", function (event)
	local validated_invite = event.validated_invite or (event.session and event.session.validated_invite);
	-- Only an invite that the gate admitted this registration with.
	if not validated_invite or not validated_invite.admitted then
		return;
	end
	local contact_username = event.username;
	local admitted = validated_invite.admitted;
	validated_invite:use();
	release(validated_invite.token, validated_invite, true);
	-- The invite stays where it was (as stock leaves it) for the other
	-- modules' handlers, in whatever order they run (mod_invites_tracking
	-- reads it); what it admitted is applied once.
	validated_invite.admitted = nil;

	local inviter_username = validated_invite.inviter;
	if inviter_username then
		module:log("debug", "Creating mutual subscription between %s and %s", inviter_username, contact_username);
		subscribe_both(module.host, inviter_username, contact_username);
		rostermanager.roster_push(inviter_username, module.host, contact_username.."@"..module.host);
	end
	apply_roles(contact_username, admitted.roles);
	apply_groups(contact_username, admitted.groups);
end);

-- The account existed (a password reset): spend the token.
module:hook("user-password-reset", function (event)
	local validated_invite = event.validated_invite or (event.session and event.session.validated_invite);
	if not validated_invite then
		return;
	end
	validated_invite:use();
	release(validated_invite.token, validated_invite, true);
end);
