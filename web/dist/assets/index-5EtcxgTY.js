function e(e){return e===null?`null`:Array.isArray(e)?`array`:typeof e}function t(t){return e(t)===`object`}function n(e){return Array.isArray(e)&&e.length>0&&e.every(e=>`message`in e)}function r(e,t){return e.length<124?e:t}var i=(e=>(e[e.InternalServerError=4500]=`InternalServerError`,e[e.InternalClientError=4005]=`InternalClientError`,e[e.BadRequest=4400]=`BadRequest`,e[e.BadResponse=4004]=`BadResponse`,e[e.Unauthorized=4401]=`Unauthorized`,e[e.Forbidden=4403]=`Forbidden`,e[e.SubprotocolNotAcceptable=4406]=`SubprotocolNotAcceptable`,e[e.ConnectionInitialisationTimeout=4408]=`ConnectionInitialisationTimeout`,e[e.ConnectionAcknowledgementTimeout=4504]=`ConnectionAcknowledgementTimeout`,e[e.SubscriberAlreadyExists=4409]=`SubscriberAlreadyExists`,e[e.TooManyInitialisationRequests=4429]=`TooManyInitialisationRequests`,e))(i||{}),a=(e=>(e.ConnectionInit=`connection_init`,e.ConnectionAck=`connection_ack`,e.Ping=`ping`,e.Pong=`pong`,e.Subscribe=`subscribe`,e.Next=`next`,e.Error=`error`,e.Complete=`complete`,e))(a||{});function o(r){if(!t(r))throw Error(`Message is expected to be an object, but got ${e(r)}`);if(!r.type)throw Error(`Message is missing the 'type' property`);if(typeof r.type!=`string`)throw Error(`Message is expects the 'type' property to be a string, but got ${e(r.type)}`);switch(r.type){case`connection_init`:case`connection_ack`:case`ping`:case`pong`:if(r.payload!=null&&!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${r.payload}"`);break;case`subscribe`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);if(typeof r.payload.query!=`string`)throw Error(`"${r.type}" message payload expects the 'query' property to be a string, but got ${e(r.payload.query)}`);if(r.payload.variables!=null&&!t(r.payload.variables))throw Error(`"${r.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${e(r.payload.variables)}`);if(r.payload.operationName!=null&&e(r.payload.operationName)!==`string`)throw Error(`"${r.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${e(r.payload.operationName)}`);if(r.payload.extensions!=null&&!t(r.payload.extensions))throw Error(`"${r.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${e(r.payload.extensions)}`);break;case`next`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!t(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an object, but got ${e(r.payload)}`);break;case`error`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);if(!n(r.payload))throw Error(`"${r.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(r.payload)}`);break;case`complete`:if(typeof r.id!=`string`)throw Error(`"${r.type}" message expects the 'id' property to be a string, but got ${e(r.id)}`);if(!r.id)throw Error(`"${r.type}" message requires a non-empty 'id' property`);break;default:throw Error(`Invalid message 'type' property "${r.type}"`)}return r}function s(e,t){return o(typeof e==`string`?JSON.parse(e,t):e)}function c(e,t){return o(e),JSON.stringify(e,t)}function l(e){let{url:t,connectionParams:n,lazy:o=!0,onNonLazyError:l=console.error,lazyCloseTimeout:m=0,keepAlive:h=0,disablePong:g,connectionAckWaitTimeout:_=0,retryAttempts:v=5,retryWait:y=async function(e){let t=2**e;await new Promise(e=>setTimeout(e,t*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:b=d,on:x,webSocketImpl:S,generateID:C=function(){return`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.replace(/[xy]/g,e=>{let t=Math.random()*16|0;return(e==`x`?t:t&3|8).toString(16)})},jsonMessageReplacer:w,jsonMessageReviver:T}=e,E;if(S){if(!p(S))throw Error(`Invalid WebSocket implementation provided`);E=S}else typeof WebSocket<`u`?E=WebSocket:typeof global<`u`?E=global.WebSocket||global.MozWebSocket:typeof window<`u`&&(E=window.WebSocket||window.MozWebSocket);if(!E)throw Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");let D=E,O=(()=>{let e=(()=>{let e={};return{on(t,n){return e[t]=n,()=>{delete e[t]}},emit(t){`id`in t&&e[t.id]?.(t)}}})(),t={connecting:x?.connecting?[x.connecting]:[],opened:x?.opened?[x.opened]:[],connected:x?.connected?[x.connected]:[],ping:x?.ping?[x.ping]:[],pong:x?.pong?[x.pong]:[],message:x?.message?[e.emit,x.message]:[e.emit],closed:x?.closed?[x.closed]:[],error:x?.error?[x.error]:[]};return{onMessage:e.on,on(e,n){let r=t[e];return r.push(n),()=>{let e=r.indexOf(n);e>-1&&r.splice(e,1)}},emit(e,...n){for(let r of[...t[e]])r(...n)}}})();function k(e){let t=[O.on(`error`,n=>{t.forEach(e=>e()),e(n)}),O.on(`closed`,n=>{t.forEach(e=>e()),e(n)})];return()=>t.forEach(e=>e())}let A,j=0,M,N=!1,P=0,ee=!1;async function F(){clearTimeout(M);let[e,o]=await(A??=new Promise((e,o)=>(async()=>{if(N){if(await y(P),!j)return A=void 0,o({code:1e3,reason:`All Subscriptions Gone`});P++}O.emit(`connecting`,N);let l=new D(typeof t==`function`?await t():t,`graphql-transport-ws`),d,f;function p(){isFinite(h)&&h>0&&(clearTimeout(f),f=setTimeout(()=>{l.readyState===D.OPEN&&(l.send(c({type:a.Ping})),O.emit(`ping`,!1,void 0))},h))}k(e=>{A=void 0,clearTimeout(d),clearTimeout(f),o(e),e instanceof u&&(l.close(4499,`Terminated`),l.onerror=null,l.onclose=null)}),l.onerror=e=>O.emit(`error`,e),l.onclose=e=>O.emit(`closed`,e),l.onopen=async()=>{try{O.emit(`opened`,l);let e=typeof n==`function`?await n():n;if(l.readyState!==D.OPEN)return;l.send(c(e?{type:a.ConnectionInit,payload:e}:{type:a.ConnectionInit},w)),isFinite(_)&&_>0&&(d=setTimeout(()=>{l.close(i.ConnectionAcknowledgementTimeout,`Connection acknowledgement timeout`)},_)),p()}catch(e){O.emit(`error`,e),l.close(i.InternalClientError,r(e instanceof Error?e.message:String(e),`Internal client error`))}};let m=!1;l.onmessage=({data:t})=>{try{let n=s(t,T);if(O.emit(`message`,n),n.type===`ping`||n.type===`pong`){O.emit(n.type,!0,n.payload),n.type===`pong`?p():g||(l.send(c(n.payload?{type:a.Pong,payload:n.payload}:{type:a.Pong},w)),O.emit(`pong`,!1,n.payload));return}if(m)return;if(n.type!==a.ConnectionAck)throw Error(`First message cannot be of type ${n.type}`);clearTimeout(d),m=!0,O.emit(`connected`,l,n.payload,N),N=!1,P=0;let r=new Promise((e,t)=>k(t));r.catch(()=>{}),e([l,r])}catch(e){l.onmessage=null,O.emit(`error`,e),l.close(i.BadResponse,r(e instanceof Error?e.message:String(e),`Bad response`))}}})()));e.readyState===D.CLOSING&&await o;let l=()=>{},d=new Promise(e=>l=e);return[e,l,new Promise((t,n)=>{let r=k(n);e.readyState!==D.OPEN&&o.catch(n),d.then(()=>{if(r(),!j){let t=()=>e.close(1e3,`Normal Closure`);isFinite(m)&&m>0?(clearTimeout(M),M=setTimeout(()=>{!j&&e.readyState===D.OPEN&&t()},m)):t()}t()})})]}function te(e){if(d(e)&&(f(e.code)||[i.InternalServerError,i.InternalClientError,i.BadRequest,i.BadResponse,i.Unauthorized,i.SubprotocolNotAcceptable,i.SubscriberAlreadyExists,i.TooManyInitialisationRequests].includes(e.code)))throw e;if(ee)return!1;if(d(e)&&e.code===1e3)return j>0;if(!v||P>=v||!b(e))throw e;return N=!0}o||(async()=>{for(j++;;)try{let[,,e]=await F();await e}catch(e){try{if(!te(e))return}catch(e){return l?.(e)}}})();function I(e,t){let n=C(e),r=!1,i=!1,o=()=>{j--,r=!0};return(async()=>{for(j++;;)try{let[s,l,u]=await F();if(r)return u.catch(()=>{}),l();let d=O.onMessage(n,e=>{switch(e.type){case a.Next:t.next(e.payload);return;case a.Error:i=!0,r=!0,t.error(e.payload),o();return;case a.Complete:r=!0,o();return}});s.send(c({id:n,type:a.Subscribe,payload:e},w)),o=()=>{!r&&s.readyState===D.OPEN&&s.send(c({id:n,type:a.Complete},w)),j--,r=!0,l()},await u.finally(d);return}catch(e){if(!te(e))return}})().then(()=>{i||t.complete()}).catch(e=>{t.error(e)}),()=>{r||o()}}return{on:O.on,subscribe:I,iterate(e){let t=[],n={done:!1,error:null,resolve:()=>{}},r=I(e,{next(e){t.push(e),n.resolve()},error(e){n.done=!0,n.error=e,n.resolve()},complete(){n.done=!0,n.resolve()}}),i=async function*(){for(;;){for(t.length||await new Promise(e=>n.resolve=e);t.length;)yield t.shift();if(n.error)throw n.error;if(n.done)return}}();return i.throw=async e=>(n.done||(n.done=!0,n.error=e,n.resolve()),{done:!0,value:void 0}),i.return=async()=>(r(),{done:!0,value:void 0}),i},async dispose(){if(ee=!0,A){let[e]=await A;e.close(1e3,`Normal Closure`)}},terminate(){A&&O.emit(`closed`,new u)}}}var u=class extends Error{name=`TerminatedCloseEvent`;message=`4499: Terminated`;code=4499;reason=`Terminated`;wasClean=!1};function d(e){return t(e)&&`code`in e&&`reason`in e}function f(e){return![1e3,1001,1006,1005,1012,1013,1014].includes(e)&&e>=1e3&&e<=1999}function p(e){return typeof e==`function`&&`constructor`in e&&`CLOSED`in e&&`CLOSING`in e&&`CONNECTING`in e&&`OPEN`in e}var m={UNAUTHENTICATED:()=>`We could not recognise your queue ticket. Please join the queue again.`,NOT_ADMITTED:e=>typeof e.position==`number`?`It is not your turn yet: ${h(e.position)}. This page lets you in by itself.`:`It is not your turn yet. This page lets you in by itself.`,TOKEN_EXPIRED:()=>`Your turn in the sale has ended. Join the queue again to continue.`,NOT_FOUND:()=>`We could not find that reservation. It may belong to another account.`,SEAT_UNAVAILABLE:()=>`Sorry, someone else just took that seat. Please pick another one.`,HOLD_LIMIT:()=>`You are already holding as many seats as allowed. Pay for one, or wait for a hold to run out.`,HOLD_EXPIRED:()=>`Your hold on this seat ran out and the seat was released. Please pick a seat again.`,INVALID_AMOUNT:()=>`That top-up amount is not allowed. Enter a whole number of won above zero and within the single top-up limit.`,INSUFFICIENT_BALANCE:()=>`Your balance does not cover this seat. Top up and try again.`,ALREADY_PAID:()=>`This seat is already paid for. Nothing was charged again.`,BAD_USER_INPUT:()=>`Something in that request was not valid. Check what you entered and try again.`,RATE_LIMITED:e=>typeof e.retryAfterSeconds==`number`?`Too many requests. Please wait ${e.retryAfterSeconds} s and try again.`:`Too many requests. Please wait a moment and try again.`,IDEMPOTENCY_KEY_REUSED:()=>`That request clashed with an earlier one. Please try again.`,INTERNAL:()=>`Something went wrong on our side. Please try again in a moment.`,NETWORK:()=>`We cannot reach Seatline right now. Check your connection and try again.`,BAD_RESPONSE:()=>`Seatline sent an answer we did not understand. Please try again.`,SOCKET_REFUSED:e=>`Live updates stopped (code ${String(e.closeCode)}). ${String(e.what)} Reloading the page may help.`};function h(e){return e===0?`you are next in line`:e===1?`1 person is ahead of you`:`${e} people are ahead of you`}var g=class extends Error{code;extensions;constructor(e,t,n={}){super(t),this.name=`ApiError`,this.code=e,this.extensions=n}is(e){return this.code===e}};function _(e){if(e instanceof g){let t=m[e.code];return t?t(e.extensions):`Unexpected error (${e.code}). Please try again.`}return m.BAD_RESPONSE({})}function v(e){let t=e[0]??{},n=t.extensions??{},r=typeof n.code==`string`?n.code:`INTERNAL`;return new g(r,t.message??r,n)}async function y(e,t,n){let r={"Content-Type":`application/json`};n&&(r.Authorization=`Bearer ${n}`);try{return await fetch(`/graphql`,{method:`POST`,headers:r,body:JSON.stringify({query:e,variables:t})})}catch{throw new g(`NETWORK`,`fetch failed`)}}async function b(e,t,n){let r=await y(e,t,n),i;try{i=await r.text()}catch{throw new g(`NETWORK`,`response lost`)}let a;try{a=JSON.parse(i)}catch{throw new g(r.ok?`BAD_RESPONSE`:`NETWORK`,`HTTP ${r.status}`)}if(a.errors?.length)throw v(a.errors);if(!a.data)throw new g(`BAD_RESPONSE`,`no data`);return a.data}var x=[300,1e3,3e3],S=e=>new Promise(t=>window.setTimeout(t,e));function C(e){return e instanceof g&&(e.is(`NETWORK`)||e.is(`INTERNAL`))}function w(e){return C(e)||e instanceof g&&(e.is(`BAD_RESPONSE`)||e.is(`RATE_LIMITED`))}var T=5,E=2;function D(e,t){if(!(e instanceof g)||!e.is(`RATE_LIMITED`)||t>=E)return null;let n=e.extensions.retryAfterSeconds;return typeof n!=`number`||n>T?null:Math.max(n,0)*1e3}async function O(e,t,n){let r=e.toString(),i=typeof t==`object`&&!!t&&`idempotencyKey`in t,a=0,o=0;for(;;)try{return await b(r,t,n)}catch(e){let t=D(e,o);if(t!==null){o+=1,await S(t);continue}let n=x[a];if(!i||n===void 0||!C(e))throw e;a+=1,await S(n)}}function k(){let e=crypto.getRandomValues(new Uint8Array(16));return Array.from(e,e=>e.toString(16).padStart(2,`0`)).join(``)}var A=class{pending=null;async run(e,t){this.pending?.args!==e&&(this.pending={args:e,key:k(),firstSentAt:Date.now()});let n=this.pending;try{let e=await t(n.key,n.firstSentAt);return this.pending===n&&(this.pending=null),e}catch(e){throw this.pending===n&&!w(e)&&(this.pending=null),e}}},j=1e4,M=5e3,N={1009:`This page sent Seatline a message that was too big.`,4400:`This page sent Seatline a message it could not read.`,4401:`This page subscribed before Seatline accepted the connection.`,4406:`This page and Seatline have no protocol in common.`,4409:`This page subscribed twice with the same id.`,4429:`This page asked Seatline twice to open the connection.`};function P(e){if(Array.isArray(e))return v(e);if(typeof e==`object`&&e&&`code`in e&&typeof e.code==`number`){let t=N[e.code];if(t)return new g(`SOCKET_REFUSED`,t,{closeCode:e.code,what:t});if(e.code===1011||e.code===4500)return new g(`INTERNAL`,`socket closed`)}return new g(`NETWORK`,`subscription lost`)}function ee(e,t,n){let r=location.protocol===`https:`?`wss`:`ws`,i=!1,a=!1,o=null,s,c=()=>{window.clearTimeout(s),s=window.setTimeout(()=>u.terminate(),M)},u=l({url:`${r}://${location.host}/graphql/ws`,connectionParams:{token:t},keepAlive:j,retryAttempts:3,shouldRetry:()=>!0,on:{connected:e=>{o=e},ping:e=>{e||c()},pong:e=>{e&&window.clearTimeout(s)},closed:()=>{o=null,window.clearTimeout(s),!i&&!a&&n.interrupted()}}}),d=()=>u.terminate(),f=()=>{document.visibilityState===`visible`&&o?.readyState===WebSocket.OPEN&&(o.send(JSON.stringify({type:`ping`})),c())};window.addEventListener(`online`,d),document.addEventListener(`visibilitychange`,f);let p=u.subscribe({query:e.toString()},{next(e){i||(e.errors?.length?(a=!0,n.error(v(e.errors))):e.data&&n.next(e.data))},error(e){a=!0,i||n.error(P(e))},complete(){a=!0,i||n.complete()}});return{stop(){i=!0,window.clearTimeout(s),window.removeEventListener(`online`,d),document.removeEventListener(`visibilitychange`,f),p(),Promise.resolve(u.dispose()).catch(()=>void 0)}}}function F(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!=null&&n!==!1&&(e.startsWith(`on`)&&typeof n==`function`?r.addEventListener(e.slice(2),n):e===`class`?r.className=String(n):n===!0?r.setAttribute(e,``):r.setAttribute(e,String(n)));return te(r,n),r}function te(e,t){for(let n of t)n!=null&&n!==!1&&e.append(n instanceof Node?n:String(n))}function I(e,t){e.textContent=t,e.hidden=t===``}async function L(e,t){e.disabled=!0,e.setAttribute(`aria-busy`,`true`);try{return await t()}finally{e.disabled=!1,e.removeAttribute(`aria-busy`)}}var ne=new Intl.NumberFormat(`en`,{style:`currency`,currency:`KRW`}),re=new Intl.DateTimeFormat(`en`,{weekday:`short`,day:`numeric`,month:`short`,year:`numeric`,hour:`2-digit`,minute:`2-digit`}),ie=new Intl.DateTimeFormat(`en`,{hour:`2-digit`,minute:`2-digit`}),R=e=>ne.format(e),z=e=>re.format(new Date(e)),B=e=>ie.format(new Date(e));function ae(e){let t=Math.max(0,Math.ceil(e/1e3)),n=Math.floor(t/60),r=t%60;return`${n}:${String(r).padStart(2,`0`)}`}function oe(e){if(e==null)return`Estimating…`;if(e<60)return`less than a minute`;let t=Math.round(e/60);return t===1?`about 1 minute`:`about ${t} minutes`}var V=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}},se={"\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n":new V(`
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}
    `,{fragmentName:`TicketFields`}),"\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n":new V(`
    mutation IssueQueueToken($userId: ID!) {
  issueQueueToken(userId: $userId) {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n":new V(`
    subscription QueueUpdates {
  queueUpdates {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  query QueueTicket {\n    queueTicket {\n      ...TicketFields\n    }\n  }\n":new V(`
    query QueueTicket {
  queueTicket {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`),"\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n":new V(`
    query Concerts {
  concerts {
    id
    title
  }
}
    `),"\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n":new V(`
    query AvailableDates($concertId: ID!) {
  availableDates(concertId: $concertId) {
    id
    startsAt
    availableSeatCount
  }
}
    `),"\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n":new V(`
    query AvailableSeats($concertDateId: ID!) {
  availableSeats(concertDateId: $concertDateId) {
    number
    price
  }
}
    `),"\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n":new V(`
    mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
  holdSeat(
    concertDateId: $concertDateId
    seatNumber: $seatNumber
    idempotencyKey: $idempotencyKey
  ) {
    id
    status
    price
    heldAt
    expiresAt
    seat {
      number
      concertDateId
    }
  }
}
    `),"\n  query Balance {\n    balance {\n      amount\n    }\n  }\n":new V(`
    query Balance {
  balance {
    amount
  }
}
    `),"\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n":new V(`
    mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
  chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
    amount
  }
}
    `),"\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n":new V(`
    mutation Pay($reservationId: ID!, $idempotencyKey: String) {
  pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {
    id
    amount
    paidAt
    reservation {
      id
      status
      seat {
        number
        concertDateId
      }
    }
  }
}
    `)};function H(e){return se[e]??{}}H(`
  fragment TicketFields on QueueTicket {
    token
    userId
    status
    position
    estimatedWaitSeconds
    admittedAt
    expiresAt
  }
`);var ce=H(`
  mutation IssueQueueToken($userId: ID!) {
    issueQueueToken(userId: $userId) {
      ...TicketFields
    }
  }
`),le=H(`
  subscription QueueUpdates {
    queueUpdates {
      ...TicketFields
    }
  }
`),ue=H(`
  query QueueTicket {
    queueTicket {
      ...TicketFields
    }
  }
`),de=H(`
  query Concerts {
    concerts {
      id
      title
    }
  }
`),fe=H(`
  query AvailableDates($concertId: ID!) {
    availableDates(concertId: $concertId) {
      id
      startsAt
      availableSeatCount
    }
  }
`),pe=H(`
  query AvailableSeats($concertDateId: ID!) {
    availableSeats(concertDateId: $concertDateId) {
      number
      price
    }
  }
`),me=H(`
  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {
      id
      status
      price
      heldAt
      expiresAt
      seat {
        number
        concertDateId
      }
    }
  }
`),he=H(`
  query Balance {
    balance {
      amount
    }
  }
`),ge=H(`
  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
      amount
    }
  }
`),_e=H(`
  mutation Pay($reservationId: ID!, $idempotencyKey: String) {
    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {
      id
      amount
      paidAt
      reservation {
        id
        status
        seat {
          number
          concertDateId
        }
      }
    }
  }
`),U={session:null,lastUserId:``,ticket:null,balance:null,current:null},W=`seatline.session`;function ve(){try{let e=sessionStorage.getItem(W),t=e?JSON.parse(e):null;if(t&&typeof t==`object`&&typeof t.userId==`string`&&typeof t.token==`string`)return t}catch{}return null}function ye(e){try{e?sessionStorage.setItem(W,JSON.stringify(e)):sessionStorage.removeItem(W)}catch{}}var be=()=>document.getElementById(`app`);function G(e){U.current?.dispose?.(),U.current=e,be().replaceChildren(e.el),document.title=`${e.title} · Seatline`;let t=e.el.querySelector(`h1`);t&&(t.tabIndex=-1,t.focus()),q()}function xe(){return U.current?.name??null}function K(e,t){let n=[F(`h1`,{},e)];return t&&n.push(F(`p`,{class:`notice`,role:`status`},t)),n}function q(){let e=document.getElementById(`account`);if(!e)return;let{session:t,ticket:n,balance:r}=U,i=n?.status===`PROGRESS`;if(!t||!i){e.replaceChildren();return}let a=[F(`span`,{class:`who`},t.userId),F(`span`,{id:`balance`},`Balance `,F(`strong`,{},r===null?`…`:R(r)))];n.expiresAt&&a.push(F(`span`,{class:`until`},`Your turn ends ${B(n.expiresAt)}`)),e.replaceChildren(...a)}async function Se(){let e=U.session?.token;return U.balance=(await O(he,{},e)).balance.amount,q(),U.balance}function Ce(e){U.balance=e,q()}function we(e,t,n,r,i){let a=(e,t)=>[F(`dt`,{},e),F(`dd`,{},t)];return{name:`confirmation`,title:`Payment confirmed`,el:F(`section`,{class:`screen`,"data-screen":`confirmation`},...K(`Payment confirmed`),F(`p`,{class:`success`},`Seat ${n.reservation.seat.number} is yours. Enjoy the show!`),F(`dl`,{class:`receipt`},...a(`Concert`,e.title),...a(`Date`,z(t.startsAt)),...a(`Seat`,String(n.reservation.seat.number)),...a(`Paid`,R(n.amount)),...a(`Paid at`,z(n.paidAt)),...a(`Payment reference`,n.id),...r===null?[]:a(`Balance left`,R(r))),...Te(i))}}function Te(e){return e?[F(`p`,{},`You still hold another seat, so your turn goes on: pay for it before its hold runs out.`),F(`button`,{type:`button`,onclick:()=>{U.session?G(Fe()):Q(U.ticket?.status===`DONE`?`Your turn in the sale is finished.`:Ue)}},`Back to concerts`)]:[F(`p`,{},`Your turn in the sale is finished, so the next person in line can come in.`),F(`button`,{type:`button`,onclick:()=>Q()},`Done`)]}function Ee(e,t,n,r){return{name:`confirmation`,title:`Already paid`,el:F(`section`,{class:`screen`,"data-screen":`confirmation`},...K(`Already paid`),F(`p`,{class:`success`},`Seat ${n} is already paid for. Nothing was charged again.`),F(`p`,{class:`subtitle`},`${e.title} · ${z(t.startsAt)}`),...Te(r))}}var De=2147483647,Oe=new A,ke=new A;async function Ae(e){try{let{queueTicket:t}=await O(ue,{},e);return t.status===`PROGRESS`}catch{return!1}}function je(e,t,n,r){let i=n.seat.number,a=U.ticket?.expiresAt,o=a!=null&&Date.parse(a)<Date.parse(n.expiresAt),s=o?a:n.expiresAt,c=Date.parse(s)-Date.parse(n.heldAt),l=r+c,u=Date.now()+c,d=U.session?.token,f=F(`span`,{id:`countdown`,class:`countdown`}),p=F(`p`,{class:`timer`,role:`timer`,"aria-live":`off`,"aria-labelledby":`countdown-label`},F(`span`,{id:`countdown-label`},`Time left to pay `),f),m=F(`p`,{class:`sr-only`,role:`status`,"aria-live":`polite`}),h=F(`p`,{class:`error`,role:`alert`,hidden:!0}),v=F(`strong`,{id:`wallet-balance`},U.balance===null?`…`:R(U.balance)),y=F(`input`,{id:`top-up-amount`,name:`amount`,type:`number`,inputmode:`numeric`,min:1,step:1,required:!0,"aria-describedby":`top-up-hint`}),b=F(`button`,{type:`submit`,class:`secondary`},`Top up`),x=F(`button`,{type:`button`,id:`pay`},`Pay ${R(n.price)}`);function S(e){Ce(e),v.textContent=R(e);let t=n.price-e;y.value=t>0?String(t):``}let C=F(`form`,{class:`top-up`,onsubmit:async e=>{e.preventDefault(),I(h,``);let t=Number(y.value);if(!Number.isInteger(t)||t<=0||t>De)I(h,_(new g(`INVALID_AMOUNT`,`client check`))),y.focus();else try{let e=await L(b,()=>Oe.run(`${d} ${t}`,e=>O(ge,{amount:t,idempotencyKey:e},d)));S(e.chargeBalance.amount),m.textContent=`Topped up. Your balance is ${R(e.chargeBalance.amount)}.`,x.focus()}catch(e){$(e,h),y.focus()}}},F(`label`,{for:`top-up-amount`},`Top-up amount (won)`),F(`p`,{id:`top-up-hint`,class:`hint`},`Whole won, added to your prepaid balance.`),F(`div`,{class:`inline`},y,b));x.addEventListener(`click`,async()=>{I(h,``);try{let r=await L(x,async()=>({payment:await ke.run(`${d} ${n.id}`,e=>O(_e,{reservationId:n.id,idempotencyKey:e},d)).then(e=>e.pay,e=>{if(e instanceof g&&e.is(`ALREADY_PAID`))return null;throw e}),goesOn:await Ae(d)}));if(k(),r.payment===null){G(Ee(e,t,i,r.goesOn));return}let a=U.balance===null?null:U.balance-r.payment.amount;a!==null&&Ce(a),G(we(e,t,r.payment,a,r.goesOn))}catch(n){if(n instanceof g&&n.is(`HOLD_EXPIRED`)){k(),G(Pe(e,t,_(n)));return}$(n,h),n instanceof g&&n.is(`INSUFFICIENT_BALANCE`)&&y.focus()}});let w=F(`section`,{class:`screen`,"data-screen":`hold`},...K(`Seat ${i} is held for you`),F(`p`,{class:`subtitle`},`${e.title} · ${z(t.startsAt)}`),F(`div`,{class:`card`},p,F(`p`,{class:`hint`},o?`Pay before ${B(s)}, when your turn in the sale ends.`:`Pay before ${B(s)}, or the seat is released.`),F(`p`,{},`Price `,F(`strong`,{},R(n.price)))),F(`section`,{class:`wallet`,"aria-labelledby":`wallet-heading`},F(`h2`,{id:`wallet-heading`},`Your balance`),F(`p`,{},`Balance `,v),C),h,m,F(`div`,{class:`actions`},x)),T=!1;function E(){let n=Date.now();f.textContent=ae(l-n),l-n<=6e4&&!T&&(T=!0,m.textContent=`Less than a minute left to pay.`),n>=u&&(k(),o?Q(Ue):G(Pe(e,t,`Your hold on seat ${i} ran out, so the seat is free again.`)))}let D=window.setInterval(E,250),k=()=>window.clearInterval(D);return E(),U.balance===null?Se().then(S).catch(e=>$(e,h)):S(U.balance),{name:`hold`,title:`Seat ${i} held`,el:w,dispose:k}}var Me=15e3,Ne=new A;function Pe(e,t,n){let r=F(`p`,{class:`error`,role:`alert`,hidden:!0}),i=new Map,a=new Map,o=F(`div`,{class:`seat-grid`});for(let e=1;e<=50;e+=1){let t=F(`input`,{type:`radio`,name:`seat`,value:e,id:`seat-${e}`,disabled:!0,"aria-label":`Seat ${e}, loading`}),n=F(`span`,{class:`seat-state`},`…`),a=F(`label`,{for:`seat-${e}`,class:`seat loading`,"data-seat":e,"aria-hidden":`true`},F(`span`,{class:`seat-number`},e),n);t.addEventListener(`change`,()=>{I(r,``),p()}),o.append(F(`div`,{class:`seat-cell`},t,a)),i.set(e,{input:t,label:a,state:n})}let s=F(`p`,{id:`seat-summary`,role:`status`,"aria-live":`polite`},`Loading seats…`),c=F(`fieldset`,{class:`seats`,"aria-busy":`true`,"aria-describedby":`seat-summary`},F(`legend`,{},`Seats 1–50`),F(`p`,{class:`key`,"aria-hidden":`true`},F(`span`,{class:`swatch free`}),`Free `,F(`span`,{class:`swatch taken`}),`Taken `,F(`span`,{class:`swatch chosen`}),`Your choice`),o),l=F(`button`,{type:`submit`,disabled:!0},`Choose a seat`),u=!1,d=F(`button`,{type:`button`,class:`secondary`,onclick:()=>void m()},`Refresh seats`),f=()=>{let e=o.querySelector(`input:checked`);return e?Number(e.value):null};function p(){let e=f(),t=e===null?void 0:a.get(e);l.disabled=u||e===null||t===void 0,l.textContent=e===null||t===void 0?`Choose a seat`:`Hold seat ${e} for ${R(t)}`}async function m(){c.setAttribute(`aria-busy`,`true`);try{let{availableSeats:e}=await O(pe,{concertDateId:t.id},U.session?.token);a.clear();for(let t of e)a.set(t.number,t.price);for(let[e,t]of i){let n=a.get(e),r=n!==void 0;t.input.disabled=!r,r||(t.input.checked=!1),t.label.className=`seat ${r?`free`:`taken`}`,t.state.textContent=r?R(n):`taken`,t.input.setAttribute(`aria-label`,`Seat ${e}, ${t.state.textContent}`)}s.textContent=`${e.length} of 50 seats free.`,p()}catch(e){$(e,r)}finally{c.removeAttribute(`aria-busy`)}}let h=F(`form`,{onsubmit:async n=>{n.preventDefault();let i=f();if(i===null||u)return;I(r,``),u=!0;let a=U.session?.token;try{let{data:n,sentAt:r}=await L(l,()=>Ne.run(`${a} ${t.id} ${i}`,async(e,n)=>({data:await O(me,{concertDateId:t.id,seatNumber:i,idempotencyKey:e},a),sentAt:n})));G(je(e,t,n.holdSeat,r))}catch(e){$(e,r),e instanceof g&&e.is(`SEAT_UNAVAILABLE`)&&await m()}finally{u=!1,p()}}},c,s,F(`div`,{class:`actions`},l,d)),_=F(`section`,{class:`screen`,"data-screen":`seats`},...K(`Pick a seat`,n),F(`p`,{class:`subtitle`},`${e.title} · ${z(t.startsAt)}`),h,r,F(`button`,{type:`button`,class:`secondary`,onclick:()=>G(Ie(e))},`Back to dates`));m();let v=window.setInterval(()=>void m(),Me),y=()=>{document.visibilityState===`visible`&&m()};return document.addEventListener(`visibilitychange`,y),{name:`seats`,title:`Pick a seat`,el:_,dispose:()=>{window.clearInterval(v),document.removeEventListener(`visibilitychange`,y)}}}function Fe(e){let t=F(`ul`,{class:`choices`,"aria-busy":`true`}),n=F(`p`,{class:`error`,role:`alert`,hidden:!0}),r=F(`section`,{class:`screen`,"data-screen":`concerts`},...K(`Choose a concert`,e),t,n);return(async()=>{try{let{concerts:e}=await O(de,{});t.replaceChildren(...e.map(e=>F(`li`,{},F(`button`,{type:`button`,class:`choice`,onclick:()=>G(Ie(e))},e.title)))),e.length===0&&t.replaceChildren(F(`li`,{},`No concerts are on sale.`))}catch(e){$(e,n)}finally{t.removeAttribute(`aria-busy`)}})(),{name:`concerts`,title:`Concerts`,el:r}}function Ie(e,t){let n=F(`ul`,{class:`choices`,"aria-busy":`true`}),r=F(`p`,{class:`error`,role:`alert`,hidden:!0}),i=F(`section`,{class:`screen`,"data-screen":`dates`},...K(e.title,t),F(`p`,{},`Choose a date. Only dates with free seats are listed.`),n,r,F(`button`,{type:`button`,class:`secondary`,onclick:()=>G(Fe())},`Back to concerts`));return(async()=>{try{let{availableDates:t}=await O(fe,{concertId:e.id},U.session?.token);n.replaceChildren(...t.map(t=>F(`li`,{},F(`button`,{type:`button`,class:`choice`,onclick:()=>G(Pe(e,t))},F(`span`,{},z(t.startsAt)),F(`span`,{class:`meta`},`${t.availableSeatCount} seats free`))))),t.length===0&&I(r,`This concert has no dates with free seats left.`)}catch(e){$(e,r)}finally{n.removeAttribute(`aria-busy`)}})(),{name:`dates`,title:e.title,el:i}}var J=null,Le=``;function Re(e){let t=F(`p`,{id:`position`,class:`big`}),n=F(`p`,{id:`wait`}),r=F(`p`,{id:`live-notice`,class:`hint`,hidden:Le===``},Le),i={position:t,wait:n,live:r};return J=i,ze(e),{name:`waiting`,title:`Waiting room`,el:F(`section`,{class:`screen`,"data-screen":`waiting`},...K(`You are in the waiting room`),F(`div`,{class:`card`,role:`status`,"aria-live":`polite`,"aria-atomic":`true`},t,n),F(`p`,{class:`spinner`,"aria-hidden":`true`}),F(`p`,{},`Keep this page open. It updates by itself and takes you to the seats when it is your turn. Leaving and rejoining with the same user id keeps your place.`),r),dispose:()=>{J===i&&(J=null)}}}function ze(e){if(!J)return;let t=e.position??0,n=h(t);J.position.textContent=n.charAt(0).toUpperCase()+n.slice(1)+`.`,J.position.dataset.position=String(t),J.wait.textContent=`Estimated wait: ${oe(e.estimatedWaitSeconds)}`}function Be(e){Le=e,J&&I(J.live,e)}var Ve=5e3,He=15e3,Ue=`Your time in the sale ran out. Join the queue again to continue.`,Y=null,X,Z;function We(e,t){Xe(),U.session=e,U.lastUserId=e.userId,ye(e),Ke(e.token),t&&Ze(t)}function Ge(e){return e instanceof g&&(e.is(`UNAUTHENTICATED`)||e.is(`TOKEN_EXPIRED`))}function Ke(e){Y=ee(le,e,{next:e=>{Ye(),Ze(e.queueUpdates)},interrupted:()=>Je(e),error:t=>{Ge(t)?Q(_(t)):qe(e,`${t.is(`NETWORK`)?`Live updates cannot get through right now.`:_(t)} Meanwhile this page checks your place every few seconds.`)},complete:()=>qe(e,``)})}function qe(e,t){Y?.stop(),Y=null,Je(e),Be(t),window.clearTimeout(Z),Z=window.setTimeout(()=>{Z=void 0,U.session?.token===e&&Ke(e)},He)}function Je(e){if(X!==void 0)return;let t=async()=>{let t=X;try{let n=await O(ue,{},e);X===t&&U.session?.token===e&&Ze(n.queueTicket)}catch(t){Ge(t)&&U.session?.token===e&&Q(_(t))}};X=window.setInterval(()=>void t(),Ve),t()}function Ye(){window.clearInterval(X),X=void 0,Be(``)}function Xe(){Y?.stop(),Y=null,Ye(),window.clearTimeout(Z),Z=void 0}function Ze(e){let t=U.ticket?.status;U.ticket=e;let n=xe();switch(e.status){case`WAITING`:n===`waiting`?ze(e):G(Re(e));break;case`PROGRESS`:t!==`PROGRESS`||n===`waiting`||n===`connecting`?(U.balance=null,G(Fe(n===`waiting`?`It is your turn! Choose a concert.`:void 0)),Se().catch(()=>void 0)):q();break;case`DONE`:n===`confirmation`||n===`hold`?(Qe(),q()):Q(`Your turn in the sale is finished.`);break;case`EXPIRED`:n===`confirmation`?(Qe(),q()):Q(Ue)}}function Qe(){Xe(),U.session=null,ye(null)}function Q(e){Qe(),U.ticket=null,U.balance=null,G($e(e,U.lastUserId))}function $(e,t){let n=_(e);if(e instanceof g){if(Ge(e)){Q(n);return}if(e.is(`NOT_ADMITTED`)&&U.ticket){let t=typeof e.extensions.position==`number`?e.extensions.position:null;U.ticket={...U.ticket,status:`WAITING`,position:t},G(Re(U.ticket));return}}I(t,n)}function $e(e,t=``){let n=F(`input`,{id:`user-id`,name:`userId`,required:!0,autocomplete:`username`,maxlength:64,value:t,"aria-describedby":`user-id-hint`}),r=F(`button`,{type:`submit`},`Join the queue`),i=F(`p`,{class:`error`,role:`alert`,hidden:!0}),a=F(`form`,{onsubmit:async e=>{e.preventDefault();let t=n.value.trim();if(!t)I(i,`Enter your user id to join the queue.`),n.focus();else{I(i,``);try{let e=(await L(r,()=>O(ce,{userId:t}))).issueQueueToken;We({userId:t,token:e.token},e)}catch(e){I(i,_(e)),n.focus()}}}},F(`label`,{for:`user-id`},`User id`),F(`p`,{id:`user-id-hint`,class:`hint`},`Joining again with the same id keeps your place.`),n,r),o=F(`section`,{class:`screen`,"data-screen":`join`},...K(`Join the queue`,e),F(`p`,{},`Tickets go on sale to a few people at a time. Join the line and this page lets you in when it is your turn.`),a,i);return queueMicrotask(()=>{e||n.focus()}),{name:`join`,title:`Join the queue`,el:o}}var et=ve();et?(G({name:`connecting`,title:`Reconnecting`,el:F(`section`,{class:`screen`,"data-screen":`connecting`},...K(`Reconnecting…`),F(`p`,{role:`status`},`Finding your place in line as ${et.userId}.`))}),We(et)):G($e());