"""Project mutations: one unit of work each."""

from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from editai.errors import BadUserInput
from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.graphql.inputs import given
from editai.graphql.upload_streaming import StreamedUploadFile
from editai.projects.service import ProjectChanges, ProjectService, project_target
from editai.projects.source_video import SourceVideoService, StreamedSource
from editai.projects.types import CreateProjectInput, Project, UpdateProjectInput


def uploaded_file(value: object) -> UploadFile:
    """The multipart file part behind an ``Upload`` argument."""
    if not isinstance(value, UploadFile):
        raise BadUserInput("file must be a file part of a multipart request", field="file")
    return value


@strawberry.type
class ProjectMutation:
    @strawberry.mutation
    async def create_project(self, info: Info, input: CreateProjectInput) -> Project:
        info.context.profile()
        async with info.context.unit_of_work() as session:
            project = await ProjectService(session).create(
                ProjectChanges(name=input.name, description=input.description)
            )
        return Project.from_model(project)

    @strawberry.mutation
    async def update_project(
        self, info: Info, id: strawberry.ID, input: UpdateProjectInput
    ) -> Project:
        info.context.profile()
        project_id = parse_id(id, "Project")
        changes = ProjectChanges(
            name=given(input.name),
            description=given(input.description),
            status=given(input.status),
        )
        async with info.context.unit_of_work(project_target(project_id)) as session:
            project = await ProjectService(session).update(project_id, changes)
        return Project.from_model(project)

    @strawberry.mutation(description="Deletes the project with its clips, segments and files.")
    async def delete_project(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        profile = info.context.profile()
        project_id = parse_id(id, "Project")
        async with info.context.unit_of_work(project_target(project_id)) as session:
            deleted = await ProjectService(session).delete(
                project_id, jobs=info.context.job_service(session)
            )
        # Files go once the rows are gone for good (after the commit).
        storage = info.context.services.storage
        await storage.after_commit(storage.remove_project(profile.profile_id, deleted))
        return strawberry.ID(str(deleted))

    @strawberry.mutation(
        description="Uploads the project's source video (GraphQL multipart request spec), "
        "replacing any earlier one. The file must be a decodable video."
    )
    async def upload_source_video(
        self, info: Info, project_id: strawberry.ID, file: Upload
    ) -> Project:
        info.context.profile()
        target = parse_id(project_id, "Project")
        upload = uploaded_file(file)
        streamed = (
            StreamedSource(upload.spool_path, upload.streamed)
            if isinstance(upload, StreamedUploadFile)
            else None
        )
        service = SourceVideoService(info.context.session, info.context.services)
        try:
            async with info.context.unit_of_work(project_target(target)):
                change = await service.replace(target, upload.file, upload.filename, streamed)
        except BaseException:
            await service.discard()  # not committed: the new file must not stay
            raise
        await service.remove_replaced(change)
        return Project.from_model(change.project)
