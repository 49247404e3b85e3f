"""Typed keys for what lives on the application."""

from __future__ import annotations

import asyncio

import socketio
from aiohttp import web

from server.metrics import Metrics
from signaling.adapter import SocketAdapter, SocketNotifier
from signaling.appointments import Appointments
from signaling.board import Boards
from signaling.chat import Chat
from signaling.cluster import RedisCluster
from signaling.consultations import Consultations
from signaling.core import Core
from signaling.files import Files
from signaling.lobby import Lobby
from signaling.ops import Ops
from signaling.room import Room
from storage.access_log import AccessLog
from storage.addresses import Network

CORE = web.AppKey("core", Core)
LOBBY = web.AppKey("lobby", Lobby)
ROOM = web.AppKey("room", Room)
BOARDS = web.AppKey("boards", Boards)
CLUSTER = web.AppKey("cluster", RedisCluster)  # only with PARLEY_REDIS_URL
DRAINING = web.AppKey("draining", asyncio.Event)  # set when the node is stopping
CONSULTATIONS = web.AppKey("consultations", Consultations)
CHAT = web.AppKey("chat", Chat)
FILES = web.AppKey("files", Files)
ACCESS_LOG = web.AppKey("access_log", AccessLog)
METRICS = web.AppKey("metrics", Metrics)
OPS = web.AppKey("ops", Ops)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[Network, ...])
NOTIFIER = web.AppKey("notifier", SocketNotifier)
SIO = web.AppKey("sio", socketio.AsyncServer)
ADAPTER = web.AppKey("adapter", SocketAdapter)
APPOINTMENTS = web.AppKey("appointments", Appointments)
