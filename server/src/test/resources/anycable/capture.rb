# Captures the exact HTTP requests AnyCable's Ruby broadcaster sends for a Lessy broadcast, into
# the fixture files next to this script (read by BroadcastTest). Run with Debian's ruby,
# ruby-actioncable (Rails 6.1) and ruby-globalid, against checkouts of the two gems:
#
#   ruby capture.rb <anycable-rb checkout> <anycable-rails checkout> <broadcast key>
#
# Real code end to end: Lessy's own line (app/controllers/api/tasks_controller.rb,
# NotificationsChannel.broadcast_to(current_user, ...)) -> ActionCable's broadcasting name and JSON
# coder -> anycable-rails' subscription adapter -> the anycable gem's HTTP broadcast adapter and
# Ruby's Net::HTTP. Only AnyCable's config object is stood in for (the broadcast URL and key).
require "socket"
require "logger"
require "action_cable"
require "base64" # global_id 0.6 uses it without requiring it
require "global_id"

anycable_rb, anycable_rails, key = ARGV
abort "usage: ruby capture.rb <anycable-rb dir> <anycable-rails dir> <broadcast key>" unless key

server = TCPServer.new("127.0.0.1", 0)
port = server.addr[1]

module AnyCable
  Config = Struct.new(:http_broadcast_url, :broadcast_key) do
    def broadcast_key!; broadcast_key; end
  end
  class << self
    attr_accessor :config, :broadcast_adapter
    def logger; @logger ||= Logger.new($stderr, level: :warn); end
    def broadcast(...); broadcast_adapter.broadcast(...); end
  end
  module Rails
    def self.current_broadcast_options; nil; end
    def self.current_socket_id; nil; end
  end
end
$LOADED_FEATURES << "anycable-rails.rb" # the adapter's `require "anycable-rails"`: stood in for above
AnyCable.config = AnyCable::Config.new("http://127.0.0.1:#{port}/_broadcast", key)
require File.join(anycable_rb, "lib/anycable/broadcast_adapters/base.rb")
require File.join(anycable_rb, "lib/anycable/broadcast_adapters/http.rb")
$LOAD_PATH.unshift(File.join(anycable_rails, "lib")) # ActionCable requires its adapter by name
require "action_cable/subscription_adapter/any_cable"
AnyCable.broadcast_adapter = AnyCable::BroadcastAdapters::Http.new

ActionCable.server.config.cable = {"adapter" => "any_cable"}
ActionCable.server.config.logger = Logger.new($stderr, level: :warn)
GlobalID.app = "lessy"

class User # a Lessy user as GlobalID sees it
  include GlobalID::Identification
  attr_reader :id
  def initialize(id) = @id = id
end

class NotificationsChannel < ActionCable::Channel::Base # Lessy's app/channels/notifications_channel.rb streams for current_user
end

captured = []
reader = Thread.new do
  2.times do
    c = server.accept
    head = +""
    head << c.readpartial(1) until head.end_with?("\r\n\r\n")
    length = head[/^Content-Length: (\d+)/i, 1].to_i
    body = c.read(length)
    captured << head + body
    c.write "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    c.close
  end
end

user = User.new(23)
# one broadcast, as Api::TasksController#update does it
NotificationsChannel.broadcast_to(user, action: "update#tasks", id: 23, updatedAt: 1515248100)
# a batch (the gem's batching): two notifications in one request
AnyCable.broadcast_adapter.batching do
  NotificationsChannel.broadcast_to(user, action: "create#projects", id: 42)
  NotificationsChannel.broadcast_to(user, action: "update#projects", id: 42, updatedAt: 1515248200)
end
AnyCable.broadcast_adapter.shutdown
reader.join

File.binwrite(File.join(__dir__, "lessy-broadcast.http"), captured[0])
File.binwrite(File.join(__dir__, "lessy-broadcast-batch.http"), captured[1])
puts captured
