-- name: shared_roles
-- description: Roles used through more than one path or by several distinct workloads (services, web identity subjects, session-name families): the one-role-for-many-apps smell, with the evidence.
-- uses: identity_paths
-- param: since timestamp optional Start of the window (inclusive; default: the first event).
-- param: until timestamp optional End of the window (exclusive; default: after the last event).
-- param: account_id varchar optional Only events received by this account.
-- columns: account_id, role_arn, shared_by, paths, events, events_by_path, services, web_identity_subjects, session_name_families, other_sources, reason, first_seen, last_seen

-- Paths are identity_paths' (see there). A role is shared when, within one receiving account:
--   paths                  its events fall on two or more paths other than unclassified (a human
--                          and a pipeline, a workload and a person, ...);
--   services               two or more AWS services created its sessions (ec2 and lambda, ...);
--   web_identity_subjects  two or more web identity subjects assumed it (two repositories or
--                          branches of one CI role);
--   session_name_families  its sessions on one path, workload or deployer, carry two or more
--                          session-name families (orders-processor and orders-notifier on one
--                          Lambda role, instance ids and an app's own session name, ...).
-- session_name_families lists the families of its workload and deployer sessions; other_sources
-- the creators that are neither services nor web identities (saml:, principal:, account:).
-- shared_by lists which of these hold, in that order; reason spells them out.

with

role_paths as (
    select
        account_id,
        principal_arn as role_arn,
        path,
        events,
        session_sources,
        session_name_families,
        first_seen,
        last_seen
    from identity_paths
    where principal_arn like 'arn:%:iam::%:role/%'
),

per_role as (
    select
        account_id,
        role_arn,
        list_sort(list(path)) as paths,
        list_sort(list(path) filter (where path <> 'unclassified')) as classified_paths,
        cast(sum(events) as bigint) as events,
        string_agg(path || ' ' || events, ', ' order by path) as events_by_path,
        list_sort(list_distinct(flatten(list(session_sources)))) as sources,
        list_sort(
            list_distinct(
                flatten(
                    list(session_name_families) filter (where path in ('workload', 'deployer'))
                )
            )
        ) as session_name_families,
        -- the workload or deployer path with the most families (workload first on a tie)
        arg_max(
            {'path': path, 'families': session_name_families},
            array_length(session_name_families) * 2 + cast(path = 'workload' as integer)
        ) filter (where path in ('workload', 'deployer')) as busiest_path,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from role_paths
    group by account_id, role_arn
),

evidence as (
    select
        account_id,
        role_arn,
        paths,
        coalesce(classified_paths, []) as classified_paths,
        events,
        events_by_path,
        list_transform(
            list_filter(sources, lambda s: starts_with(s, 'service:')),
            lambda s: substr(s, length('service:') + 1)
        ) as services,
        list_transform(
            list_filter(sources, lambda s: starts_with(s, 'oidc:')),
            lambda s: substr(s, length('oidc:') + 1)
        ) as web_identity_subjects,
        coalesce(session_name_families, []) as session_name_families,
        busiest_path,
        list_filter(
            sources, lambda s: not (starts_with(s, 'service:') or starts_with(s, 'oidc:'))
        ) as other_sources,
        first_seen,
        last_seen
    from per_role
),

checks as (
    select
        *,
        list_filter([
            case
                when array_length(classified_paths) > 1
                    then {
                        'name': 'paths',
                        'text': 'used through ' || array_length(classified_paths) || ' paths: '
                            || array_to_string(classified_paths, ', ')
                    }
            end,
            case
                when array_length(services) > 1
                    then {
                        'name': 'services',
                        'text': 'sessions created by ' || array_length(services) || ' services: '
                            || array_to_string(services, ', ')
                    }
            end,
            case
                when array_length(web_identity_subjects) > 1
                    then {
                        'name': 'web_identity_subjects',
                        'text': 'assumed by ' || array_length(web_identity_subjects)
                            || ' web identity subjects: '
                            || array_to_string(web_identity_subjects, ', ')
                    }
            end,
            case
                when array_length(busiest_path.families) > 1
                    then {
                        'name': 'session_name_families',
                        'text': array_length(busiest_path.families) || ' ' || busiest_path.path
                            || ' session-name families: '
                            || array_to_string(busiest_path.families, ', ')
                    }
            end
        ], lambda f: f is not null) as found
    from evidence
),

final as (
    select
        account_id,
        role_arn,
        list_transform(found, lambda f: f.name) as shared_by,
        paths,
        events,
        events_by_path,
        services,
        web_identity_subjects,
        session_name_families,
        other_sources,
        array_to_string(list_transform(found, lambda f: f.text), '; ') as reason,
        first_seen,
        last_seen
    from checks
    where array_length(found) > 0
)

select * from final
order by array_length(shared_by) desc, events desc, account_id, role_arn
